"""The served dashboard: ``app.py`` with a start-up step (``dashboard/warmup.py``). ``make run`` runs this.

``streamlit run serve.py`` finds the ``st.App`` below and serves ``app.py`` through it; ``streamlit run app.py``
still works and does the same work in the first session instead.
"""

import streamlit as st

from dashboard.warmup import lifespan

app = st.App("app.py", lifespan=lifespan)
