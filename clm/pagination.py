"""The one pagination of the API (a module of its own: DRF imports it while loading)."""

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=N&page_size=M` (M up to 200); an out-of-range page is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
