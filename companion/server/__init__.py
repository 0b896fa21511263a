"""Where stages are wired together: conversation sessions, file chat, (soon) the web server."""
