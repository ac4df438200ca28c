"""A slot's settings split the way a swap treats them: sticky values stay with the slot, the
others (loose) move with the content."""

from __future__ import annotations

from runner.emulator.appservice.records import App, Slot, StickyValues


def sticky_values(app: App, slot: Slot) -> StickyValues:
    return {
        "appSettings": {n: slot.app_settings.get(n) for n in app.sticky_app_settings},
        "connectionStrings": {
            n: slot.connection_strings.get(n) for n in app.sticky_connection_strings
        },
    }


def loose_values(app: App, slot: Slot) -> StickyValues:
    sticky = sticky_values(app, slot)
    return {
        "appSettings": {
            k: v for k, v in slot.app_settings.items() if k not in sticky["appSettings"]
        },
        "connectionStrings": {
            k: v for k, v in slot.connection_strings.items() if k not in sticky["connectionStrings"]
        },
    }


def set_values(slot: Slot, loose: StickyValues, sticky: StickyValues) -> None:
    merged = {**loose["appSettings"], **sticky["appSettings"]}
    slot.app_settings = {k: v for k, v in merged.items() if v is not None}
    strings = {**loose["connectionStrings"], **sticky["connectionStrings"]}
    slot.connection_strings = {k: v for k, v in strings.items() if v is not None}
