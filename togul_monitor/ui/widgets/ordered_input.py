"""An Input whose editing keys act in the order they were typed.

Textual's Input inserts a printable key when its own message queue reaches it, but acts on its
bound keys (backspace, ctrl+u, the arrows, enter...) only once the key has bubbled up to the app,
which then looks the binding up. In a burst (a paste, `tmux send-keys '/' C-u 'env:staging'
Enter`) the characters queued after such a key are inserted first: ctrl+u then erased what was
typed after it, and enter submitted the text before the keys typed ahead of it were in. Here a
key bound on the Input itself runs its action in the Input's queue, in order, and goes no
further (`filter_bar.py`, `screens/profile_form.py`).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class OrderedInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if not event.is_printable:
            bindings = self._bindings.key_to_bindings.get(event.key)
            if bindings:
                event.stop()
                event.prevent_default()
                await self.run_action(bindings[0].action)
                return
        await super()._on_key(event)
