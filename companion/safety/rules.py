"""The crisis detector's rules: phrases of risk, written over normalised text (lower case,
contractions expanded: "can't" → "cannot", "I'm" → "i am", "wanna" → "want to").

Each rule names its category and whose words it is about (`who`):
- "self": the speaker themselves; a clause whose subject is someone else does not count;
- "reflexive": the pronoun in the phrase says who ("myself" the speaker, "herself" someone else);
- "other": someone else does it to the speaker (abuse) — the subject must be a person;
- "any": the phrase says it all ("my baby is not breathing", "nobody would miss me").
A phrase about someone else counts only when it is happening or intended now ("she is going to
kill herself", "he is cutting himself"), not a story, the news or a death in the past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    category: str
    who: str
    pattern: re.Pattern[str]
    name: str


# words that say the speaker means it, or means to ("i want to …", "i keep thinking about …")
INTENT = (r"(?:want to|need to|going to|will|would like to|plan to|planning to|plan on|"
          r"thinking about|thinking of|think about|decided to|ready to|about to|try to|"
          r"trying to|tried to|feel like|keep thinking about|intend to|wish i could|have to|"
          r"wanting to|keep wanting to|urge to|urges to)")
SELF_ME = r"myself"
SELF_OTHER = r"(?:himself|herself|themselves|themself)"
SELF_ANY = r"(?:myself|himself|herself|themselves|themself)"
POSS = r"(?:my|his|her|their)"
# people a threat or an attack can be aimed at ("you" is the AI partner in this product)
PERSON = (r"(?:him|her|them|them all|everyone|everybody|people|someone|somebody|all of them|"
          r"(?:my|his|her|their|the|our|a) (?:\w+ )?(?:neighbou?rs?|boss|step\w*|dad|father|mum|"
          r"mom|mother|brothers?|sisters?|wife|husband|partner|ex|roommates?|flatmates?|teachers?|"
          r"coworkers?|co-workers?|colleagues?|classmates?|kids|children|son|daughter|friends?|"
          r"boyfriend|girlfriend|family|manager|landlord|uncle|aunt|cousins?|parents?|baby|child|"
          r"students?|people|guy|man|woman|girl|boy))")
VIOLENT = (r"(?:kill|killing|murder|murdering|stab|stabbing|shoot|shooting|hurt|hurting|"
           r"strangle|strangling|choke|choking|poison|poisoning|attack|attacking|"
           r"beat (?:\w+ )?up|beating (?:\w+ )?up)")
ABUSE_VERB = (r"(?:hit|hits|hitting|beat|beats|beating|kick|kicks|kicked|kicking|punch|punches|"
              r"punched|slap|slaps|slapped|choke|chokes|choked|strangle|strangles|strangled|"
              r"burn|burns|burned|rape|rapes|raped|molest|molests|molested|abuse|abuses|abused|"
              r"hurt|hurts|hurting|kill|grab|grabs|grabbed|touch|touches|touched|whip|whips|"
              r"whipped|starve|starves|starved)")
MODAL = (r"(?:(?:will|would|might|could|is going to|are going to|threatened to|threatens to|"
         r"threatening to|tried to|wants to|keeps|kept|said (?:he|she|they) would|"
         r"always|often|sometimes|still|again) )*")
POISONS = r"(?:bleach|poison|rat poison|antifreeze|weedkiller|detergent|drain cleaner)"

_TABLE: list[tuple[str, str, str, str]] = [
    # ---- suicide: the speaker's own words
    ("suicide", "reflexive", "kill-self", rf"\b(?:kill|killing|killed|hang|hanging|hanged|"
     rf"shoot|shooting|drown|drowning|poison|poisoning|gas|gassing) {SELF_ANY}\b"),
    ("suicide", "reflexive", "end-life", rf"\b(?:end|ending|take|taking|took) {POSS} (?:own )?"
     r"li(?:fe|ves)\b(?! (?:in|into|to|back|somewhere|forward|on|seriously)\b)"),
    ("suicide", "self", "want-die", r"\b(?:want to|need to|going to|ready to|deserve to|"
     r"would like to|wish i could|wish to|just want to|really want to) die\b(?! (?:of|from|for|"
     r"laughing|trying))"),
    ("suicide", "self", "no-life", r"\bnot want to (?:be alive|live|exist|wake up)\b"),
    ("suicide", "self", "no-life-here", r"\bnot want to (?:be here|go on|carry on)"
     r"(?: anymore| any longer)\b"),
    ("suicide", "self", "stop-existing", r"\b(?:want to|wish i could|going to|need to|would "
     r"rather|would like to) (?:just )?(?:stop existing|stop living|cease to exist|not exist "
     r"anymore|not exist)\b"),
    ("suicide", "self", "cannot-go-on", r"\b(?:cannot|can not|do not think i can|not sure i "
     r"can|do not know how (?:much longer )?i can) (?:keep|go on|carry on) living\b"),
    ("suicide", "self", "no-longer", r"\bno longer want to (?:be alive|live|exist|be here|"
     r"go on|wake up)\b"),
    ("suicide", "self", "unsure-live", r"\b(?:not sure|do not know if|not know if|no longer "
     r"sure)(?: that)? i (?:want to|can) (?:live|be alive|go on|keep going|keep living)\b"),
    ("suicide", "any", "no-reason", r"\b(?:no|not see any|cannot see any|not have any|cannot "
     r"find any|not find any|not see a|is there any|what is the) (?:point|reason)(?: for me)? "
     r"(?:in |of |to )?(?:living|to live|life|going on|to go on|keep living|to keep living|"
     r"to keep going|being alive|to be alive|to stay alive)\b"),
    ("suicide", "any", "not-worth", r"\b(?:life|living) is not worth (?:it|living)|"
     r"\bnot worth living\b"),
    ("suicide", "self", "nothing-to-live", r"\bnothing (?:left )?to live for\b"),
    ("suicide", "any", "better-off", r"\bbetter off (?:dead|without me)\b|\b(?:better off|"
     r"happier|better|easier) (?:if|when) i (?:(?:was|were|am) (?:dead|gone|not here|not "
     r"around)|died|killed myself)\b"),
    ("suicide", "any", "nobody-miss", r"\b(?:nobody|no one|no-one) would (?:miss|notice|care "
     r"about) me\b|\bmiss me (?:if|when) i (?:was|were|am) (?:dead|gone)\b"),
    ("suicide", "self", "wish-dead", r"\bwish i (?:was|were) dead\b|\bwish i had never been "
     r"born\b"),
    ("suicide", "self", "never-wake", r"\b(?:sleep|asleep)\b.{0,20}\b(?:never|not) wake up\b"),
    ("suicide", "self", "end-it", rf"\b{INTENT} end (?:it all|it tonight|it today|it now|it "
     r"for good|everything|things for good|things tonight|things now|it once and for all|"
     r"things once and for all)\b|\bend it all\b|\b(?:want to|going to|will|decided to|ready to) "
     r"end it$"),
    ("suicide", "self", "done-life", r"\bdone with (?:life|living|being alive|it all)\b"),
    ("suicide", "self", "suicidal", r"\b(?:feel|feeling|am|been|get|getting|go|felt) "
     r"suicidal\b|\bsuicidal (?:thoughts|feelings|urges|ideas)\b"),
    ("suicide", "self", "think-suicide", r"\b(?:thinking|thought|think|thinks|considering|"
     r"considered|planning|contemplating) (?:about |of )?(?:suicide|committing suicide)\b|"
     r"\bcommit suicide\b|\bcommitting suicide\b"),
    ("suicide", "self", "method", rf"\b{INTENT} (?:jump|jumping) (?:off|from) (?:the|a) "
     r"(?:bridge|building|roof|cliff|balcony|tower)|"
     rf"\b{INTENT} (?:jump|jumping|step|stepping|throw myself) in front of (?:a|the) "
     r"(?:train|bus|car|lorry|truck)"),
    ("suicide", "self", "pills", r"\bpills\b.{0,40}\btake them all\b|\btake (?:them all|all "
     r"(?:of )?(?:my|the|these|those) (?:\w+ )?(?:pills|tablets|medication))"),
    ("suicide", "self", "note", r"\b(?:wrote|write|writing|written|left) (?:a |my )?(?:goodbye|"
     r"suicide) (?:letter|note)s?\b"),
    ("suicide", "self", "giving-away", r"\bgiving (?:away )?(?:all )?(?:of )?my (?:things|stuff|"
     r"belongings|possessions)(?: away)?\b.{0,40}\b(?:not|never) need\b"),
    ("suicide", "self", "disappear", r"\bdisappear (?:forever|for good|permanently)\b"),
    # ---- self-harm
    ("self_harm", "reflexive", "harm-self-ing", rf"\b(?:cutting|harming|hurting|burning|"
     rf"starving|punishing|scratching|bruising) {SELF_ANY}\b"),
    ("self_harm", "reflexive", "harm-self", rf"\b(?:{INTENT}|keep|kept|started|start) "
     rf"(?:to )?(?:cut|harm|hurt|burn|starve|punish|hit) {SELF_ANY}\b|\b(?:cut|hurt|burned|burnt|"
     rf"hit|harmed) {SELF_ANY}\b.{{0,30}}\b(?:on purpose|deliberately|again|to feel|to punish|"
     r"when i get|when i am)"),
    ("self_harm", "self", "self-harm", r"\bself[- ]?harm(?:ing|ed)?\b"),
    ("self_harm", "reflexive", "cut-wrists", rf"\b(?:cut|cutting|slit|slitting|slashed|slash) "
     rf"{POSS} (?:wrists?|arms?|legs?|thighs?|skin)\b"),
    ("self_harm", "any", "on-purpose", r"\b(?:burn\w*|cut\w*|hit\w*|hurt\w*|scratch\w*|bang\w*)"
     r"\b.{0,30}\b(?:on purpose|deliberately|intentionally)\b"),
    ("self_harm", "any", "bleed", r"\buntil (?:it|i|they) (?:bleeds?|bled|bleeding)\b"),
    ("self_harm", "self", "feel-cutting", r"\b(?:feel like|want to go|urge to start|urge to) "
     r"(?:cutting|cut again|cut)\b|\bwant to cut again\b"),
    # ---- harm to others
    ("harm_to_others", "self", "kill-someone", rf"\b{INTENT} (?:really )?{VIOLENT} {PERSON}\b"),
    ("harm_to_others", "self", "run-over", rf"\b{INTENT} (?:run|running|drive|driving) "
     rf"{PERSON} (?:over|down)\b"),
    ("harm_to_others", "self", "beat-up", rf"\b{INTENT} (?:beat|beating) {PERSON} up\b"),
    ("harm_to_others", "any", "weapon", r"\b(?:bring|take|carry|bringing|taking) (?:a|my|the) "
     r"(?:gun|knife|weapon|rifle|bomb|pistol) (?:to|into) (?:school|work|the office|class|"
     r"church|college|the party)\b"),
    ("harm_to_others", "any", "use-weapon", r"\b(?:knife|gun|weapon|rifle|bomb)\b.{0,40}\buse "
     rf"it on {PERSON}\b"),
    ("harm_to_others", "self", "arson", r"\b(?:burn|set fire to|torch) (?:down )?(?:his|her|"
     r"their|the|my \w+s) (?:house|home|car|flat|school|office)"),
    ("harm_to_others", "self", "could-hurt", r"\bcould (?:really )?(?:hurt|kill) (?:someone|"
     r"somebody)\b"),
    # ---- abuse: someone does it to the speaker
    ("abuse", "other", "hurts-me", rf"\b{MODAL}{ABUSE_VERB} (?:(?:my|the) \w+ and )?me\b"
     r"(?! (?:at (?:chess|tennis|cards|football|golf|poker|pool|darts|\w+ games?)|up|with "
     r"(?:a|an|the) (?:idea|question|joke)|off|back|deeply|so much))"),
    ("abuse", "other", "pushed-me", r"\b(?:push|pushes|pushed|shove|shoves|shoved|throws|threw) "
     r"me (?:down|into|against|over|off|to the (?:ground|floor))\b"),
    ("abuse", "other", "locks-me", r"\b(?:locks|locked|lock) me (?:in|out|up)\b"),
    ("abuse", "other", "forces-me", r"\b(?:forces|forced|force|makes|made) me (?:to )?(?:have "
     r"sex|do sexual|touch (?:him|her|them)|watch porn)"),
    ("abuse", "other", "sexual-messages", r"\b(?:sends|sent|shows|showed) me (?:sexual|nude|"
     r"naked|explicit|dirty)\b"),
    ("abuse", "other", "control", r"\bnot let me (?:leave|go out|see my|out of)\b"),
    ("abuse", "self", "being-abused", r"\bi am being (?:abused|hit|beaten|hurt|raped|molested|"
     r"groomed)\b|\bsexually abused me\b"),
    ("abuse", "any", "secret", r"\btouched me\b.{0,60}\b(?:secret|not to tell|do not tell)\b"),
    # ---- medical emergency
    ("medical", "any", "no-breath", r"\b(?:cannot|can not|could not|unable to) (?:breathe"
     r"(?! through (?:my|his|her|their|the) nose)|"
     r"catch (?:my|his|her|their) breath)\b|\b(?:trouble|difficulty|struggling to) "
     r"breath(?:e|ing)\b"),
    ("medical", "any", "not-breathing", r"\b(?:is|are|am|was|has|have) (?:not|stopped) "
     r"breathing\b"),
    ("medical", "any", "chest", r"\bchest (?:pain|pains|hurts|is hurting)\b|\bpain in my chest\b|"
     r"\bcrushing (?:chest )?pain\b"),
    ("medical", "any", "attack", r"\b(?:having|had|am having|is having) (?:a |an )?(?:heart "
     r"attack|stroke|seizure|fit|allergic reaction|anaphylactic\w*)\b(?! of luck)"),
    ("medical", "any", "overdose", r"\b(?:took|taken|take|swallowed) (?:too many|a whole "
     r"(?:bottle|packet|box|pack) of|all (?:of )?(?:my|the|his|her))\b|\boverdos(?:ed|ing)\b|"
     r"\b(?:took|taken) an overdose\b"),
    ("medical", "any", "poison", rf"\b(?:swallowed|drank|drunk|ate|ingested) (?:some )?"
     rf"{POISONS}\b"),
    ("medical", "any", "stroke-signs", r"\bface is drooping\b|\b(?:cannot|can not) (?:lift|move|"
     r"feel) (?:my|his|her|the) (?:left |right )?(?:arm|leg|face|side)\b"),
    ("medical", "any", "bleeding", r"\bbleeding (?:a lot|heavily|badly|everywhere)\b|"
     r"\b(?:will not|cannot) stop (?:the )?bleeding\b|\bbleeding\b.{0,30}\b(?:will not|does not)"
     r" stop\b"),
    ("medical", "any", "unconscious", r"\b(?:collapsed|unconscious|unresponsive)\b|"
     r"\b(?:will not|cannot|can not) wake (?:up|him|her|them)\b"),
    ("medical", "any", "swelling", r"\bthroat is (?:swelling|closing)\b|\b(?:tongue|throat|face) "
     r"(?:is )?swelling up\b"),
    ("medical", "any", "head-injury", r"\bhit (?:my|his|her) head\b.{0,40}\b(?:throwing up|"
     r"vomiting|confused|passed out|dizzy)\b"),
]

RULES: tuple[Rule, ...] = tuple(Rule(c, w, re.compile(p), n) for c, w, n, p in _TABLE)

# Figures of speech that look like risk and are not: taken out before the rules run.
IDIOMS = re.compile(
    r"\b(?:dying (?:to|of|for)|to die for|die (?:of|from) \w+|died laughing|dying laughing|"
    r"kill(?:ing)? time|kill the lights|kill(?:ed|ing)? it\b|dead tired|drop-dead|killer \w+|"
    r"shoot (?:you|me|him|her|them) (?:a|an) \w+|hit the (?:gym|road|sack|books|shops)|"
    r"cut (?:myself|me|you) (?:a|an|some)\b|beat(?:s)? (?:you|me|him|her|them) at|hit me up|"
    r"break a leg|could (?:just )?die|knock (?:them|him|her|you) dead|kill for)")

# Where a person lives or stands, after the word for them ("the man next door threatened me"):
# taken out so the person, not "door", is the verb's subject.
PLACE_AFTER_PERSON = re.compile(
    r"\b(?:next door|upstairs|downstairs|down the (?:road|street|hall)|across the (?:road|street|"
    r"hall))\b")

# Words that make a third-person phrase a story, a topic or someone's job rather than a person
# in danger now.
CONTEXT_WORDS = re.compile(
    r"\b(?:film|movie|book|novel|story|character|game|episode|show|series|song|lyrics?|poem|"
    r"play|script|news|article|essay|documentary|podcast|villain|hero|heroine|hamlet|romeo|"
    r"juliet|research|statistics|rates?|prevention|hotline|patients?|clients?|training|course|"
    r"lecture|history|actor|actress|scene)\b")

# A line the speaker performs or quotes from a work: "my character says …", "the line is …".
PERFORMED = re.compile(
    r"\b(?:my|the|his|her|in the) (?:character|role|line|lines|script|lyrics?|song|poem|part|"
    r"play|scene|actor)\b[^.!?]*?\b(?:says|say|said|goes|go|is|reads|sings|sang|shouts|writes|"
    r"wrote)\b")
QUOTE_FRAME = re.compile(
    r"\b(?:character|role|line|script|lyrics?|song|sang|sing|sings|singing|poem|play|scene|"
    r"actor|karaoke|film|movie|book|novel|joking|joked|kidding|laughed|laughing|jokes?)\b")
# A risk word under a negation a few words before it ("i am not suicidal", "i have never once
# hurt anyone"): the rules may have no phrase for it, and the second opinion cannot see the "not".
NEGATED_RISK = re.compile(
    r"\b(?:not|never)\b(?: (?:want|wanted|wanting|going|to|about|of|thought|think|thinking|ever|"
    r"once|really|actually|be|been|feel|feeling|felt|planning|plan|try|trying|would|will|"
    r"could)){0,4} "
    r"(?:suicidal|suicide|die|dying|dead|kill\w*|hurt\w*|harm\w*|cut|cuts|cutting|abus\w*|hit|"
    r"hits|hitting|overdos\w*|end (?:my|it))\b")
JOKING = re.compile(r"\b(?:joking|kidding|jk|lol|haha|as a joke)\b")
LAUGHING = re.compile(r"\b(?:hilarious|funny|laughing|laughed|lol|haha)\b")
HISTORY = re.compile(
    r"\b(?:used to|years ago|as a (?:teenager|kid|child)|when i was (?:younger|a teenager|a kid|"
    r"a child|little|at school))\b")
NOW = re.compile(r"\b(?:now|still|again|tonight|today|right now|these days|lately|currently|"
                 r"anymore)\b")
THIRD_INTENT = re.compile(
    r"\b(?:want|wants|wanted to|going to|gonna|plan|plans|planning|threaten|threatens|"
    r"threatening|keeps saying|kept saying|thinking|talking about|tried|trying|is|are|has been|"
    r"have been|keeps|keep)\b")
