"""Contract and statement templates (sandboxed Jinja2) and the PDFs rendered from them."""
