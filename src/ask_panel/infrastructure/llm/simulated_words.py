"""Word classes the simulated model's question reader cuts noun phrases with (lower case)."""

from __future__ import annotations


def words_of(text: str) -> frozenset[str]:
    return frozenset(text.split())


DETERMINERS = words_of("a an the our their this that these those my your its his her some any every each no own")
PREPOSITIONS = words_of(
    "like of for in on at to from with by under over into onto after before within without between about "
    "against through during per via than across towards toward among beyond"
)
CONJUNCTIONS = words_of("and or but nor so yet if whether because while although though unless")
AUXILIARIES = words_of(
    "is are was were be been being am do does did done will would shall should can could may might must "
    "have has had having need needs ought"
)
WH_WORDS = words_of("what which who whom whose when where why how")
PRONOUNS = words_of("we us i you they them it he she me him one ourselves themselves itself")
QUANTIFIERS = words_of(
    "many much more most less least few fewer several enough all both either neither long soon often far"
)
COMMON_VERBS = words_of(
    "look looks seem seems get gets take takes make makes set sets use go goes pursue choose pick adopt "
    "start run build enter "
    "seek file submit expect reach achieve charge launch keep put give bring hire buy sell spend invest "
    "raise cut move apply prepare decide consider reject aim target grow scale expand prioritize "
    "prioritise focus do say think know see want try win lose compete outsource license ship release "
    "require requires expect expects cost costs accept accepts succeed succeeds fail fails pay pays cover "
    "covers approve approves clear clears allow allows help helps mean means become becomes remain "
    "remains work works get gets happen happens matter matters worth best better wise ready possible "
    "likely going able sure right wrong realistic realistically really also still just only even first "
    "then now today currently"
)
ING_NOUNS = words_of(
    "pricing marketing manufacturing labeling labelling testing funding licensing packaging engineering "
    "training hosting billing coding screening monitoring planning financing sourcing staffing onboarding "
    "branding messaging positioning reporting auditing sterilizing building"
)
TIME_NOUNS = words_of("month months year years week weeks day days time quarter quarters")
VAGUE_NOUNS = words_of(
    "probability chance chances likelihood odds percentage percent way ways thing things option options "
    "approach idea question answer lot lots number amount kind sort type"
)
STOP = DETERMINERS | PREPOSITIONS | CONJUNCTIONS | AUXILIARIES | WH_WORDS | PRONOUNS | QUANTIFIERS | COMMON_VERBS
