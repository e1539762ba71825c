"""Points per feature, the band thresholds, and the chances used to weigh agreement."""

POINTS = {
    "name_exact": 40,
    "name_former": 32,
    "name_pinyin": 25,
    "birth_same": 25,
    "birth_one_off": 18,
    "birth_two_off": 0,
    "birth_far": -40,
    "birth_month_same": 12,
    "birth_month_differs": -10,
    "gender_same": 5,
    "gender_differs": -30,
    "graduation_same": 20,
    "graduation_one_off": 12,
    "enrolment_same": 15,
    "enrolment_one_off": 8,
    "year_same": 12,
    "year_one_off": 6,
    "years_differ": -10,
    "second_degree": 10,
    "stage_impossible": -25,
    "honour_before_study": -15,
    "major_same": 20,
    "college_same": 10,
    "degree_same": 3,
    "employer_same": 20,
    "employer_similar": 10,
    "employer_common": 8,
    "honour_recorded": 15,
    "school_ours": 5,
    "school_elsewhere": -15,
}
HIGH_MIN_SCORE = 75
# "high" also needs the row's namesakes to be unlikely to agree this well by chance: their number
# times the chance of each agreeing feature (see Scored.chances) must stay under this.
CHANCE_MAX = 0.02
GENDER_CHANCE = 0.6
DEFAULT_MAJOR_CHANCE = 1 / 40
DEFAULT_COLLEGE_CHANCE = 1 / 15
HONOUR_CHANCE = 1 / 1000
MIN_CHANCE = 1e-6
BIRTH_WINDOW = 3  # candidates are born within this many years of the row's birth year
HIGH_MIN_MARGIN = 12
REVIEW_MIN_SCORE = 25
KEEP_MIN_SCORE = 10
MAX_CANDIDATES = 10
EMPLOYER_SAME = 90
EMPLOYER_SIMILAR = 75
# Where so many alumni work that one of the row's namesakes would be expected there this often by
# chance (thousands of an aerospace school's alumni work for the big aerospace groups), an employer
# earns fewer points and does not tell namesakes apart.
EMPLOYER_COINCIDENCE = 0.05
# Education at no named school weighs this share of education the row places at our school.
UNATTRIBUTED_SHARE = 0.6
SUBJECT_SAME = 85
# Too generic to identify a major or a college on their own.
_GENERIC_SUBJECTS = frozenset({"工程", "技术", "科学", "管理", "设计", "工学", "理学", "专业", "研究"})
# Plausible age when starting a degree, per level.
_START_AGES = {"junior": (14, 35), "bachelor": (14, 35), "master": (19, 55), "doctor": (20, 60), "other": (14, 75)}
