"""The communication aid (AAC): boards, prediction, the user's history, and the session that
says the user's own words."""
