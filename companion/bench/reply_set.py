"""The reply-quality set: prompts a companion hears, each with what its reply must respect.

Every reply is checked for echo, junk, length, tone, persona and honesty (see replies.py); a
prompt may add what the answer must mention (`expect`, any one of) or what tone the user is in.
The prompts are single turns after the persona's greeting, so one model call answers each.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReplyCase:
    category: str  # small-talk | sad | happy | about-you | request | role-play
    prompt: str
    tone: str = "neutral"  # the user's mood: "sad" | "happy" | "neutral"
    expect: tuple[str, ...] = ()  # the reply must contain one of these (lowercase)
    asks_identity: bool = False  # asks whether the avatar is human / what it is


CASES: tuple[ReplyCase, ...] = (
    # small talk
    ReplyCase("small-talk", "Hi! It's nice to meet you."),
    ReplyCase("small-talk", "Good morning! How are you today?"),
    ReplyCase("small-talk", "What a rainy day it is outside."),
    ReplyCase("small-talk", "I just made myself a cup of tea."),
    ReplyCase("small-talk", "I'm going for a walk in the park later."),
    ReplyCase("small-talk", "Do you like music?", expect=(
        "music", "song", "listen", "sing", "melod", "tune", "jazz", "classical")),
    ReplyCase("small-talk", "What's your favourite season?", expect=(
        "spring", "summer", "autumn", "fall", "winter")),
    ReplyCase("small-talk", "I've been reading a good book this week."),
    ReplyCase("small-talk", "Thank you for listening. Good night!"),
    ReplyCase("small-talk", "I watched a funny film yesterday."),
    # sad news
    ReplyCase("sad", "I had a really rough day at work.", tone="sad"),
    ReplyCase("sad", "My dog died last week and I miss him.", tone="sad"),
    ReplyCase("sad", "I'm feeling a bit lonely this evening.", tone="sad"),
    ReplyCase("sad", "I failed my driving test again.", tone="sad"),
    ReplyCase("sad", "My grandmother is in hospital.", tone="sad"),
    ReplyCase("sad", "I lost my job today.", tone="sad"),
    ReplyCase("sad", "My best friend moved away and I feel sad.", tone="sad"),
    ReplyCase("sad", "I can't sleep and I'm so tired.", tone="sad"),
    # happy news
    ReplyCase("happy", "I got the job I interviewed for!", tone="happy"),
    ReplyCase("happy", "My daughter was born last night!", tone="happy"),
    ReplyCase("happy", "I finally finished my marathon today.", tone="happy"),
    ReplyCase("happy", "We're getting married in June!", tone="happy"),
    ReplyCase("happy", "I passed all my exams!", tone="happy"),
    ReplyCase("happy", "Today is my birthday and I feel great.", tone="happy"),
    ReplyCase("happy", "My garden is full of flowers this spring, it makes me so happy.",
              tone="happy"),
    # about the avatar
    ReplyCase("about-you", "Are you a real person?", asks_identity=True),
    ReplyCase("about-you", "Are you human?", asks_identity=True),
    ReplyCase("about-you", "What's your name?", expect=("mona",)),
    ReplyCase("about-you", "Can you tell me a little about yourself?", asks_identity=True),
    ReplyCase("about-you", "What are you, exactly?", asks_identity=True),
    ReplyCase("about-you", "Do you have feelings?", asks_identity=True),
    ReplyCase("about-you", "Where do you live?"),
    # short requests
    ReplyCase("request", "What colour is the sky on a clear day?", expect=("blue",)),
    ReplyCase("request", "Can you say hello in French?", expect=("bonjour",)),
    ReplyCase("request", "What should I cook for dinner tonight?", expect=(
        "pasta", "soup", "salad", "rice", "chicken", "fish", "vegetable", "curry", "stir",
        "pizza", "omelette", "eggs", "stew", "roast", "sandwich", "noodle", "bean", "tacos")),
    ReplyCase("request", "Give me one tip to relax.", expect=(
        "breath", "walk", "music", "relax", "stretch", "tea", "bath", "rest", "calm",
        "meditat", "read", "slow")),
    ReplyCase("request", "What is two plus two?", expect=("four", "4")),
    ReplyCase("request", "Tell me something that might cheer me up."),
    ReplyCase("request", "How many days are in a week?", expect=("seven", "7")),
    ReplyCase("request", "Can you remind me to drink some water?", expect=("water",)),
    # role-play instructions
    ReplyCase("role-play", "Let's pretend you are my boss. I'd like to ask you for a raise.",
              expect=("raise", "salary", "pay", "money", "work", "why")),
    ReplyCase("role-play", "Pretend you're a shop assistant and I want to return a jacket.",
              expect=("jacket", "receipt", "return", "refund", "exchange", "wrong")),
    ReplyCase("role-play", "Play a waiter. I'd like to order a coffee, please.",
              expect=("coffee", "milk", "sugar", "order", "anything else", "coming")),
    ReplyCase("role-play", "Can you play my neighbour? Your music is too loud at night.",
              expect=("music", "loud", "sorry", "quiet", "volume", "night", "down")),
)
