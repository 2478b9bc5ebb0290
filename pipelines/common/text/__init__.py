"""Free-text helpers every pipeline shares, in one place (all pure).

``words``: stop words, words, index terms, shingles, sentences and clauses;
``grounding``: typed figures, and the figures and names a text states that its sources
do not; ``pii``: masking of card numbers, e-mail addresses and phone numbers.
"""
