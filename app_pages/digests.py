"""Digests: the last digests, what each held, where it went and whether it arrived; the next one's preview."""

import pandas as pd
import streamlit as st

from dashboard import digests, startup, text, view_state, widgets
from ldclient.digest.items import ITEM_TYPES, item_time_ms
from ldclient.errors import LDError

view = view_state.current_view()
source = startup.get_source()
store = source.store

try:
    config = digests.config()
except LDError as exc:
    st.error(f"The digest configuration cannot be used: {text.plain(exc)}", icon=":material/error:")
    st.stop()

st.caption(
    "`python -m ldclient digest` (run it from cron) sends each destination what it has not had yet: stale "
    "flags, flags without a maintainer, rollbacks, flapping, large-impact changes without an experiment, "
    "unrehearsed and off-hours production changes. Each item goes to each destination once."
)

if config.destinations:
    routes = dict(config.routes)
    st.markdown(
        "**Destinations:** "
        + ", ".join(
            f"`{text.safe_code(d.name)}` ({d.kind}"
            + (", default" if d.name in config.default else "")
            + (
                f", for {', '.join(text.safe_code(w) for w, t in routes.items() if t == d.name)}"
                if d.name in routes.values()
                else ""
            )
            + ")"
            for d in config.destinations
        )
    )
else:
    st.info(
        "No destination is configured yet: set `LD_DIGEST_WEBHOOK_URL`, or name a TOML file with Slack, "
        "email and routing tables in `LD_DIGEST_CONFIG` (see the README). The preview below shows what the "
        "first digest would hold.",
        icon=":material/outgoing_mail:",
    )


def item_rows(items: list[dict], states: dict[str, str] | None = None) -> pd.DataFrame:
    rows = [
        {
            "Flag": i.get("flag_key"),
            **({"State": states.get(str(i.get("idempotency_key")), "—")} if states is not None else {}),
            "Type": ITEM_TYPES.get(str(i.get("type")), str(i.get("type"))),
            "When": widgets.format_time(item_time_ms(i), view.tz),
            "Where": f"{i.get('project')}/{i.get('environment')}"
            if i.get("environment")
            else i.get("project"),
            "Summary": i.get("summary"),
            "Owner": i.get("owner") or "—",
            **(
                {"Destinations": ", ".join(i.get("destinations") or []) or "—"} if "destinations" in i else {}
            ),
            "Dashboard": i.get("link"),
            "LaunchDarkly": i.get("launchdarkly_link"),
        }
        for i in items
    ]
    return pd.DataFrame(rows)


COLUMNS = {
    "Flag": st.column_config.TextColumn("Flag", pinned=True, width=190),
    "Type": st.column_config.TextColumn("Type", width=150),
    "When": st.column_config.TextColumn("When", width=125),
    "Where": st.column_config.TextColumn("Where", width=150),
    "Summary": st.column_config.TextColumn("Summary", width=360),
    "Owner": st.column_config.TextColumn("Owner", width=180),
    "State": st.column_config.TextColumn("State", width=75),
    "Destinations": st.column_config.TextColumn("Destinations", width=140),
    "Dashboard": st.column_config.LinkColumn("Dashboard", display_text="Open view", width=90),
    "LaunchDarkly": st.column_config.LinkColumn("LaunchDarkly", display_text="Open flag", width=95),
}

st.subheader("Last digests")
runs = store.digest_runs(50)
if not runs:
    st.caption("No digest has run yet.")
else:
    table = pd.DataFrame(
        [
            {
                "Sent": widgets.format_time(r.started_ms, view.tz),
                "Destination": r.destination,
                "Outcome": {"empty": "nothing new"}.get(r.outcome, r.outcome),
                "Items": r.items,
                "Delivered": r.delivered,
                "Message": r.message,
            }
            for r in runs
        ]
    )
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=min(36 + 35 * len(table), 250),
        on_select="rerun",
        selection_mode="single-row",
        key="digest_runs",
        column_config={
            "Sent": st.column_config.TextColumn("Sent", pinned=True, width=130),
            "Destination": st.column_config.TextColumn("Destination", width=150),
            "Outcome": st.column_config.TextColumn("Outcome", width=110),
            "Items": st.column_config.NumberColumn("Items", width=60),
            "Delivered": st.column_config.NumberColumn("Delivered", width=75),
            "Message": st.column_config.TextColumn("Message"),
        },
    )
    chosen = picked.selection.rows[0] if picked and picked.selection.rows else 0
    run = runs[chosen]
    states = store.digest_states(run.destination, list(run.item_keys))
    st.markdown(
        f"**What the digest of {widgets.format_time(run.started_ms, view.tz)} to "
        f"`{text.safe_code(run.destination)}` held** ({run.items} items, {run.delivered} delivered"
        + (", select another row to see its items" if len(runs) > 1 else "")
        + ")"
    )
    if states:
        import json

        held = [json.loads(s.item_json) for s in states]
        st.dataframe(
            item_rows(held, {s.item_key: s.state for s in states}),
            hide_index=True,
            width="stretch",
            height=min(36 + 35 * len(held), 300),
            column_config=COLUMNS,
        )

st.subheader(f"Next digest for {view.project}")
try:
    upcoming = digests.preview(view.project, len(runs) and runs[0].finished_ms)
except LDError as exc:
    st.error(f"The preview could not be prepared: {text.plain(exc)}", icon=":material/cloud_off:")
    st.stop()
st.caption(
    f"What `python -m ldclient digest` would send now for {view.project} (a dry run: nothing is sent or "
    f"recorded); first digests cover the last {config.first_days} days."
)
if not upcoming:
    st.success("Nothing new for this project.", icon=":material/check_circle:")
else:
    by_type = pd.Series([ITEM_TYPES.get(str(i["type"]), i["type"]) for i in upcoming]).value_counts()
    cols = st.columns(min(4, len(by_type)))
    for n, (name, count) in enumerate(by_type.items()):
        cols[n % len(cols)].metric(str(name), f"{count:,}", border=True)
    st.dataframe(item_rows(upcoming), hide_index=True, width="stretch", height=420, column_config=COLUMNS)
