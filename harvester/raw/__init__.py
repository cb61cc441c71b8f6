"""Pydantic models of what each archive really sends, and the normalizers for their quirks."""
