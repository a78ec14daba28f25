"""The text pipeline, in the order `clean()` runs it: normalise (cleaning), character maps
(charmaps), site watermarks (watermark), pinyin written for characters (depinyin); then what the
scorers read from clean text: syllables (phonetic), words (segment), contact details (contacts),
posts with no words (content), the paid-posting lexicon (lexicon) and personal data (pii)."""
