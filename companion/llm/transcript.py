"""The transcript prompt for base (not instruction-tuned) models: they continue text, so they are
given a spoken conversation to continue, with a few example exchanges that show the register —
short, warm, matching the user's mood, honest about being an AI."""

from __future__ import annotations

from companion.frames import Message

FEW_SHOT = (
    ("Hi! How are you today?", "I'm doing well, thank you for asking. How has your day been?"),
    ("I had a long day at work.", "Oh no, that sounds tiring. What made it so long?"),
    ("Guess what, I won the chess tournament!", "Congratulations, that's wonderful news! "
                                               "How did the final game go?"),
    ("Are you a real person?", "No, I'm an AI, but I'm glad to talk with you."),
    ("Tell me about yourself.", "I'm an AI companion, here to chat and listen. "
                                "What would you like to talk about?"),
    ("What's the capital of Italy?", "It's Rome."),
    ("Let's pretend you're my landlord. The heating is broken.",
     "Oh, I'm sorry about that. When did it stop working?"),
    # Words read aloud or half a thought get interest, not a refusal ("I can't assist").
    ("The old bridge over the river was built from stone.",
     "That sounds lovely. Is it somewhere you've been?"),
    ("And so, my friends.", "That sounds like the start of a speech. Go on, I'm listening."),
)


def chat_examples() -> list[Message]:
    """The examples as earlier turns, for models that take a chat (they go after the persona,
    so they are part of the prefix that is evaluated once)."""
    out: list[Message] = []
    for u, a in FEW_SHOT:
        out += [Message("user", u), Message("assistant", a)]
    return out


def transcript_prompt(messages: list[Message], speaker: str) -> str:
    """Persona, examples and the conversation as a transcript that ends on the avatar's turn."""
    system = " ".join(m.content for m in messages if m.role == "system")
    lines = [system, "", "The following is a spoken conversation. "
             f"{speaker} answers warmly in one or two short sentences.", ""]
    for u, a in FEW_SHOT:
        lines += [f"User: {u}", f"{speaker}: {a}"]
    for m in messages:
        if m.role == "user":
            lines.append(f"User: {m.content}")
        elif m.role == "assistant":
            lines.append(f"{speaker}: {m.content}")
    lines.append(f"{speaker}:")
    return "\n".join(lines)


def transcript_prefix(messages: list[Message], speaker: str) -> str:
    """The part of the transcript that does not change between turns (persona, examples)."""
    system = [m for m in messages if m.role == "system"]
    return transcript_prompt(system, speaker).rsplit(f"\n{speaker}:", 1)[0] + "\n"


# A transcript-style prompt needs these stops, or the model goes on as the user.
TRANSCRIPT_STOPS = ("\nUser:", "\n")
