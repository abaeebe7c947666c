"""Reusable Streamlit pieces of the modelgap app: state, cached compute, pickers, tables, cards.

Pages import these modules; the core (`modelgap/`) never imports them.
"""
