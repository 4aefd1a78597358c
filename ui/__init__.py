"""Streamlit helpers shared by the pages: widgets from study parameters, running studies."""
