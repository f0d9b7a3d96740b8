"""Shared building blocks for the Island Rides dashboards, on grafana-foundation-sdk's builders.

Every panel reads the Prometheus data source picked by the ``datasource`` variable and filters by the
``job`` and ``instance`` variables (``SELECTOR``); a query spells its own selector so each expression in
the generated JSON reads on its own. Thresholds are given as ``[(value, colour), ...]`` above a base
colour, the way Grafana draws them.
"""
from __future__ import annotations

from collections.abc import Sequence

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import statetimeline as statetimeline_b
from grafana_foundation_sdk.builders import timeseries as timeseries_b
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common as common_m
from grafana_foundation_sdk.models import dashboard as dash_m

DATASOURCE = dash_m.DataSourceRef(type_val="prometheus", uid="${datasource}")
# The label filter every query carries: the variables are multi-value, so Grafana renders them as regexes.
SELECTOR = 'job=~"$job", instance=~"$instance"'
# $__rate_interval adapts the rate window to the scrape interval and the zoom (Grafana's recommendation).
RATE = "$__rate_interval"

Steps = Sequence[tuple[float, str]]
PanelBuilder = Builder[dash_m.Panel]


def variables(job_metric: str) -> list[Builder[dash_m.VariableModel]]:
    """``datasource``, ``job`` (jobs exposing ``job_metric``) and ``instance`` (of the chosen jobs)."""
    datasource = (dash_b.DatasourceVariable("datasource").label("Data source").type("prometheus"))
    job = (dash_b.QueryVariable("job").label("Job").datasource(DATASOURCE)
           .query(f"label_values({job_metric}, job)")
           .refresh(dash_m.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dash_m.VariableSort.ALPHABETICAL_ASC)
           .multi(True).include_all(True).all_value(".+"))
    instance = (dash_b.QueryVariable("instance").label("Instance").datasource(DATASOURCE)
                .query(f'label_values({job_metric}{{job=~"$job"}}, instance)')
                .refresh(dash_m.VariableRefresh.ON_TIME_RANGE_CHANGED).sort(dash_m.VariableSort.ALPHABETICAL_ASC)
                .multi(True).include_all(True).all_value(".+"))
    return [datasource, job, instance]


def query(expr: str, legend: str = "__auto", ref_id: str = "A", instant: bool = False) -> prom_b.Dataquery:
    """One PromQL target."""
    target = prom_b.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id).datasource(DATASOURCE)
    return target.instant() if instant else target.range()


def thresholds(base: str, steps: Steps = ()) -> dash_b.ThresholdsConfig:
    """Absolute thresholds: ``base`` below the first step, then each (value, colour)."""
    return (dash_b.ThresholdsConfig().mode(dash_m.ThresholdsMode.ABSOLUTE)
            .steps([dash_m.Threshold(value=None, color=base)]
                   + [dash_m.Threshold(value=value, color=color) for value, color in steps]))


def _targets(queries: Sequence[prom_b.Dataquery]) -> list[Builder[Dataquery]]:
    return [q.ref_id(chr(ord("A") + i)) for i, q in enumerate(queries)]


def timeseries(title: str, description: str, unit: str, queries: Sequence[prom_b.Dataquery],
               steps: Steps = (), stacked: bool = False, minimum: float | None = 0,
               bars: bool = False, base: str = "green") -> timeseries_b.Panel:
    """A time series panel; thresholds (if any, above ``base``) are drawn as dashed lines."""
    panel = (timeseries_b.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .targets(_targets(queries)).fill_opacity(10).line_width(1)
             .legend(common_b.VizLegendOptions().display_mode(common_m.LegendDisplayMode.TABLE)
                     .placement(common_m.LegendPlacement.BOTTOM).show_legend(True).calcs(["mean", "max", "lastNotNull"]))
             .tooltip(common_b.VizTooltipOptions().mode(common_m.TooltipDisplayMode.MULTI)
                      .sort(common_m.SortOrder.DESCENDING)))
    if minimum is not None:
        panel = panel.min(minimum)
    if steps:
        panel = (panel.thresholds(thresholds(base, steps))
                 .thresholds_style(common_b.GraphThresholdsStyleConfig().mode(common_m.GraphThresholdsStyleMode.DASHED)))
    if stacked:
        panel = panel.stacking(common_b.StackingConfig().mode(common_m.StackingMode.NORMAL))
    if bars:
        panel = panel.draw_style(common_m.GraphDrawStyle.BARS).fill_opacity(80)
    return panel


def second_unit(panel: timeseries_b.Panel, ref_id: str, unit: str) -> timeseries_b.Panel:
    """Give the series of query ``ref_id`` its own unit (drawn on a second axis)."""
    return panel.override_by_query(ref_id, [dash_m.DynamicConfigValue(id_val="unit", value=unit)])


def stat(title: str, description: str, unit: str, queries: Sequence[prom_b.Dataquery],
         steps: Steps = (), base: str = "green", decimals: int | None = None) -> stat_b.Panel:
    """A single-number panel coloured by thresholds, with a sparkline."""
    panel = (stat_b.Panel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .targets(_targets(queries)).thresholds(thresholds(base, steps))
             .color_mode(common_m.BigValueColorMode.BACKGROUND).graph_mode(common_m.BigValueGraphMode.AREA)
             .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False)))
    return panel.decimals(decimals) if decimals is not None else panel


def state_timeline(title: str, description: str, queries: Sequence[prom_b.Dataquery],
                   states: dict[str, tuple[str, str]]) -> statetimeline_b.Panel:
    """A state timeline: each series one row, each value mapped to ``states[value] = (text, colour)``."""
    mapping = dash_m.ValueMap(options={
        value: dash_m.ValueMappingResult(text=text, color=color, index=i)
        for i, (value, (text, color)) in enumerate(states.items())})
    return (statetimeline_b.Panel().title(title).description(description).datasource(DATASOURCE)
            .targets(_targets(queries)).mappings([mapping]).show_value(common_m.VisibilityMode.NEVER)
            .merge_values(True).row_height(0.9).fill_opacity(80)
            .color_scheme(dash_b.FieldColor().mode(dash_m.FieldColorModeId.THRESHOLDS))
            .thresholds(thresholds("text")))


def alerts_annotation() -> dash_b.AnnotationQuery:
    """Marks on every graph where one of the selected jobs' alerts was firing (Prometheus' ALERTS series)."""
    return (dash_b.AnnotationQuery().name("Firing alerts").datasource(DATASOURCE).enable(True).icon_color("red")
            .expr('ALERTS{alertstate="firing", job=~"$job"}'))


def dashboard(uid: str, title: str, description: str, tags: Sequence[str], job_metric: str) -> dash_b.Dashboard:
    """A dashboard with the shared time range, refresh and template variables."""
    return (dash_b.Dashboard(title).uid(uid).description(description).tags(["island-rides", *tags])
            .timezone("browser").time("now-3h", "now").refresh("30s").editable()
            .tooltip(dash_m.DashboardCursorSync.CROSSHAIR).variables(variables(job_metric))
            .annotation(alerts_annotation())
            # A menu of the other Island Rides dashboards, keeping the time range and the variables.
            .link(dash_b.DashboardLink("Island Rides").type(dash_m.DashboardLinkType.DASHBOARDS)
                  .tags(["island-rides"]).as_dropdown(True).include_vars(True).keep_time(True)))


def assemble(board: dash_b.Dashboard, rows: Sequence[tuple[str, Sequence[PanelBuilder]]]) -> dash_m.Dashboard:
    """Add each titled row and its panels (laid out left to right), numbering every panel from 1."""
    next_id = 1
    for title, panels in rows:
        board = board.with_row(dash_b.Row(title).id(next_id))
        next_id += 1
        for panel in panels:
            board = board.with_panel(panel.id(next_id))  # type: ignore[attr-defined]
            next_id += 1
    return board.build()
