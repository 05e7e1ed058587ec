"""A Flask blueprint: the button-analysis API and a dashboard of the insights.

Install with ``pip install 'ga4-button-workflows[flask]'``, then::

    from ga4_button_workflows.contrib.flask import create_blueprint
    from ga4_button_workflows.stores import open_store

    app.register_blueprint(
        create_blueprint(
            store=open_store("sqlite:///button_insights.db"),
            property_ids="123456789",
            target_host="localhost:7233",
            authorize=lambda request: current_user.is_authenticated,
        )
    )

See :func:`create_blueprint` for the routes, and this package's README for
the dashboard, the security model and how async calls are made.
"""

from ga4_button_workflows.contrib.flask._blueprint import (
    MAX_DAYS_BACK,
    AnalyticsBlueprint,
    Authorize,
    create_blueprint,
)

__all__ = [
    "MAX_DAYS_BACK",
    "AnalyticsBlueprint",
    "Authorize",
    "create_blueprint",
]
