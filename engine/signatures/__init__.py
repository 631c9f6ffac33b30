"""Signatures kept with a case: a customer's hand-drawn one (or their refusal), an approver's re-entered password.

Each is a row of its own, inserted once and never updated (`tables`), hashed over what was
signed (`records`); the image of a hand-drawn signature is checked before anything is kept
(`images`). `audit verify` recomputes every hash (`records.verify_signatures`).
"""
