"""Figure 11's baseline: the least a Streamlit page with a chart costs on this machine.

One title and one Altair bar chart of 30 bars, served the way ``make run`` serves the dashboard (the same
``.streamlit/config.toml``, Nagle's delay mended the same way), so that the dashboard's first chart can be
compared with what Streamlit's own front end needs before any chart can be drawn.
"""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard import server_sockets

server_sockets.mend_server_once()
st.set_page_config(page_title="Floor", layout="wide")
st.title("One chart")
days = pd.DataFrame({"day": range(1, 31), "events": [(day * 7) % 23 + 3 for day in range(1, 31)]})
st.altair_chart(alt.Chart(days).mark_bar().encode(x="day:O", y="events:Q"), width="stretch")
