"""The OpenAPI document's description, naming the registry's channel kinds."""

from typing import Any

from channels_app.integrations import channel_kinds, get_integration


def describe_channel_kinds(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    titles = [get_integration(kind).title for kind in channel_kinds()]
    listed = f"{', '.join(titles[:-1])} and {titles[-1]}" if len(titles) > 1 else titles[0]
    result["info"]["description"] = f"One call notifies anyone on {listed}."
    return result
