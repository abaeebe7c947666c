"""modelgap app: the router. Page config, URL <-> state sync, the shared sidebar, then the chosen page.

`streamlit run app.py` (or `make run`) opens on the demo comparison; a link with query parameters
(repo, deployed, data, target, uri, row) opens that comparison instead.
"""

from __future__ import annotations


def main() -> None:
    import streamlit as st

    from components import cards, compute, sidebar, state, warmup

    st.set_page_config(page_title="modelgap", page_icon=":material/difference:", layout="wide")
    cards.page_style()

    page = st.navigation(
        [
            st.Page(
                "pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview", default=True
            ),
            st.Page("pages/parameters.py", title="Parameters", icon=":material/tune:", url_path="parameters"),
            st.Page("pages/predictions.py", title="Predictions", icon=":material/query_stats:", url_path="predictions"),
            st.Page("pages/explanations.py", title="Explanations", icon=":material/insights:", url_path="explanations"),
            st.Page("pages/data.py", title="Data", icon=":material/dataset:", url_path="data"),
            st.Page("pages/retraining.py", title="Retraining", icon=":material/model_training:", url_path="retraining"),
            st.Page("pages/report.py", title="Report", icon=":material/summarize:", url_path="report"),
        ]
    )

    wanted = state.read_url(defaults=compute.demo_spec())
    if wanted is not None:  # the URL changed within this session (back button, edited link): apply it like a picker
        compute.apply(wanted)
    comparison = compute.current_comparison(show_error=True)
    state.write_url()
    sidebar.render(comparison)
    warmup.watch()  # a cold server's first view leaves the registry out: rerun once MLflow is ready
    try:
        page.run()
    finally:
        warmup.start()  # after the page is drawn: the warm-up's imports would hold it back


# Streamlit runs this file as "__main__". A worker process (the SHAP helper, retraining's workers) re-imports
# it as "__mp_main__": it must not run the app there, and the guard tells those workers that it is safe.
if __name__ == "__main__":
    main()
