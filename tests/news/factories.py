import factory

from apps.news.models import NewsItem, NewsPerson
from tests.accounts.factories import UserFactory
from tests.alumni.factories import PersonFactory


class NewsItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsItem

    title = factory.Sequence(lambda n: f"校友新闻{n}")
    body = "第一段。\n\n第二段。"
    author = factory.SubFactory(UserFactory)


class NewsPersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsPerson

    news = factory.SubFactory(NewsItemFactory)
    person = factory.SubFactory(PersonFactory)
    achievement = NewsPerson.Achievement.HONOUR
    note = "当选中国工程院院士"
