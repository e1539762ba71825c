"""Published alumni news in the portal: open to everyone, like the alumni website."""

from django.views.generic import DetailView, ListView

from .selectors import public_links, published_news


class NewsListView(ListView):
    template_name = "news/newsitem_list.html"
    context_object_name = "items"
    paginate_by = 20

    def get_queryset(self):
        return published_news().only("pk", "title", "summary", "kind", "published_at")


class NewsDetailView(DetailView):
    template_name = "news/newsitem_detail.html"
    context_object_name = "item"

    def get_queryset(self):
        return published_news()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["paragraphs"] = self.object.paragraphs()
        context["links"] = public_links(self.object)
        return context
