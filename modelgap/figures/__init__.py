"""Pure plotly figure builders: data in, a Figure out; no streamlit, testable without a browser."""
