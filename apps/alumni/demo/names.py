"""Name pools for demo people: surnames by real frequency, given-name characters by era and gender.

Weights are relative. Given names are Zipf-weighted so that, as in real rosters, a few names
(张伟, 王芳, 李娜 ...) recur thousands of times in a million people.
"""

from bisect import bisect
from itertools import accumulate
from random import Random

# The hundred most frequent surnames with their share in per ten thousand (national statistics,
# rounded), then a tail of rarer ones.
_TOP_SURNAMES = """
王712 李700 张666 刘533 陈452 杨308 黄223 赵219 吴200 周189 徐145 孙138 马129 朱128 胡116 郭113
何106 高100 林98 罗86 郑80 梁76 谢69 宋64 唐63 许60 韩59 冯57 邓56 曹55 彭55 曾54 肖53 田52
董51 袁48 潘47 于47 蒋46 蔡45 余44 杜43 叶43 程42 苏41 魏40 吕39 丁39 任38 沈37 姚37 卢36
姜35 崔34 钟33 谭33 陆32 汪31 范31 金30 石30 廖29 贾29 夏28 韦28 付27 方27 白26 邹26 孟25
熊25 秦24 邱24 江24 尹23 薛23 闫22 段22 雷21 侯21 龙21 史20 陶19 黎19 贺19 顾19 毛18 郝18
龚18 邵17 万17 钱17 严17 覃16 武16 戴16 莫16 孔15 向15 汤15
"""
_RARE_SURNAMES = "常康牛洪温施葛文樊殷齐易乔伍庞颜倪庄聂章鲁岳翟詹申欧耿关兰焦俞左柳甘祝包宁尚符舒"
COMPOUND_SURNAMES = {
    "欧阳": 0.9,
    "司马": 0.3,
    "上官": 0.3,
    "诸葛": 0.2,
    "东方": 0.2,
    "皇甫": 0.2,
    "尉迟": 0.1,
    "公孙": 0.1,
    "慕容": 0.1,
    "令狐": 0.1,
    "夏侯": 0.1,
    "司徒": 0.2,
}


def _parse_top(text: str) -> dict[str, float]:
    weights = {}
    for token in text.split():
        weights[token[0]] = float(token[1:])
    return weights


def _surname_weights() -> dict[str, float]:
    weights = _parse_top(_TOP_SURNAMES)
    # A short tail of rarer surnames (about 3% of people): the real tail is thousands of surnames
    # long, but a short one keeps the number of distinct names, hence homonyms, realistic.
    for rank, surname in enumerate(_RARE_SURNAMES):
        weights.setdefault(surname, 14.0 / (1 + rank / 8))
    weights.update(COMPOUND_SURNAMES)
    return weights


SURNAMES = _surname_weights()

# Given-name characters, most popular first, per birth era and gender. The three eras follow the
# fashions: 建国 and 秀英 before 1970, 伟 and 丽 in the 1970s-80s, 子涵 and 浩宇 after 1990.
ERA_BOUNDS = (1970, 1990)
_CHARS = {
    ("M", 0): "华明国建军平伟志文强林德勇忠福海春荣永生成杰新光东庆金宝祥贵民学兴树立斌云昌全仁义秋发良山",
    ("M", 1): "伟磊勇军杰涛斌强鹏超辉刚健波明亮俊峰飞龙浩宇华建平阳林锋晨东宁凯旭鑫帅文博彬毅剑睿昊晖",
    ("M", 2): "浩宇轩子梓博俊文杰涵一泽睿宸航然铭天晨昊凯鑫皓诚嘉哲瑞奕逸辰豪骏煜鹏阳翔明远志宁",
    ("F", 0): "秀英兰玉珍桂芳淑凤华丽红霞梅琴云敏芬萍美燕荣春娟英玲素琼洁爱翠菊莲彩霞惠珠",
    ("F", 1): "芳娜丽静敏燕艳娟霞丹玲萍红婷雪琳晶颖慧洁倩莉璐佳琴蕾欣艳瑶琪蓉媛楠璐薇青晓",
    ("F", 2): "欣怡雨涵子梓诗佳思雅婷可悦琪萱一馨月彤语晨若嘉梦文妍琳悦瑶倩瑾雯颖璇",
}
# Popular two-character given names, most popular first.
_DOUBLE = {
    ("M", 0): "建国 建华 国庆 建军 志强 国华 德明 永强 文华 建平 建新 国强 志明 红军 卫东 卫国 振华 国平 "
    "建明 金生 志刚 福生 长春 庆华 永红 新民 学军 跃进 援朝 胜利",
    ("M", 1): "海涛 志强 建华 晓东 俊杰 文博 志伟 海峰 建伟 永刚 晓明 海波 志勇 小龙 建军 晓军 伟东 "
    "国栋 文杰 鹏飞 海龙 春雷 亚军 晓峰 振宇 建伟 宏伟 立新 志华 明辉",
    ("M", 2): "浩然 宇航 俊杰 博文 一鸣 天宇 子豪 浩宇 子轩 嘉豪 思远 文博 逸飞 子健 鹏程 明轩 泽宇 "
    "宇轩 梓豪 皓轩 昊天 天佑 一帆 致远 子墨 宇泽 浩轩 俊熙 博涛 子涵",
    ("F", 0): "秀英 桂英 秀兰 玉兰 桂兰 秀珍 凤英 玉珍 玉梅 淑珍 淑兰 秀云 桂芳 丽华 秀芳 玉英 桂珍 "
    "秀华 桂香 玉华 红梅 美华 素珍 春梅 建华 爱华 玉芳 淑英 翠兰 金凤",
    ("F", 1): "丽娟 海燕 晓燕 婷婷 丹丹 静静 晓丽 雪梅 春燕 玉婷 丽丽 晓红 艳红 晓梅 红霞 晶晶 丽萍 "
    "晓霞 燕妮 小红 秀丽 亚楠 晓敏 莉莉 倩倩 娜娜 佳佳 慧敏 文静 海霞",
    ("F", 2): "欣怡 思雨 雨婷 佳琪 梦瑶 诗琪 雨涵 佳怡 可馨 思琪 雨欣 梦琪 欣妍 雨桐 可欣 心怡 晨曦 "
    "嘉怡 子涵 诗涵 梓涵 语嫣 一诺 子萱 梓萱 思涵 若汐 紫涵 雅琪 诗雨",
}
# Share of one-character given names per era (they were most common for people born 1970-1990).
SINGLE_SHARE = (0.32, 0.45, 0.25)
# Of two-character names, the share composed freely from the era's most popular characters rather
# than taken from the list of popular names. Calibrated with the Zipf exponents below and the
# surname tail: a million demo people carry about 42,000 distinct names (24 people per name on
# average); 王浩然 about 4,000 and 张伟 about 3,000 of them.
FREE_DOUBLE_SHARE = 0.01
FREE_DOUBLE_CHARS = 8
ZIPF_EXPONENT = 1.3
DOUBLE_ZIPF_EXPONENT = 0.8


def _zipf(items, exponent: float = ZIPF_EXPONENT) -> tuple[list, list[float]]:
    items = list(dict.fromkeys(items))
    return items, list(accumulate(1 / (rank + 1) ** exponent for rank in range(len(items))))


class Sampler:
    """Draws from a fixed weighted population with one random() call (bisect on cumulated weights)."""

    __slots__ = ("_cum", "_items", "_total")

    def __init__(self, items, cum_weights: list[float]):
        self._items = list(items)
        self._cum = cum_weights
        self._total = cum_weights[-1]

    @classmethod
    def weighted(cls, weights: dict) -> "Sampler":
        return cls(weights.keys(), list(accumulate(weights.values())))

    @classmethod
    def zipf(cls, items, exponent: float = ZIPF_EXPONENT) -> "Sampler":
        return cls(*_zipf(items, exponent))

    def __call__(self, rng: Random):
        return self._items[bisect(self._cum, rng.random() * self._total)]


def era_of(birth_year: int) -> int:
    return 0 if birth_year < ERA_BOUNDS[0] else 1 if birth_year < ERA_BOUNDS[1] else 2


class NameMaker:
    """Chinese names by gender and birth year, with realistic repetition."""

    def __init__(self):
        self.surname = Sampler.weighted(SURNAMES)
        self.single = {key: Sampler.zipf(chars) for key, chars in _CHARS.items()}
        self.double = {key: Sampler.zipf(names.split(), DOUBLE_ZIPF_EXPONENT) for key, names in _DOUBLE.items()}
        self.free = {
            key: Sampler.zipf(list(dict.fromkeys(chars))[:FREE_DOUBLE_CHARS], 1.0) for key, chars in _CHARS.items()
        }

    def given(self, rng: Random, gender: str, birth_year: int) -> str:
        era = era_of(birth_year)
        key = (gender, era)
        roll = rng.random()
        if roll < SINGLE_SHARE[era]:
            return self.single[key](rng)
        if rng.random() >= FREE_DOUBLE_SHARE:
            return self.double[key](rng)
        first, second = self.free[key](rng), self.free[key](rng)
        if first == second and rng.random() < 0.7:
            second = self.single[key](rng)
        return first + second

    def full(self, rng: Random, gender: str, birth_year: int) -> str:
        return self.surname(rng) + self.given(rng, gender, birth_year)
