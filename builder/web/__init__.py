"""Web pages to articles: the page's text in its real charset, extraction under a time limit, and
the rules that say a page is not an article. The `web_page` row maker puts them together."""
