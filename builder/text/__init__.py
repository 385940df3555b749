"""Text, the ground floor: bytes to text (`decode`), normalization rules and their batch engine
(`normalize`, `normalize_batch`), words (`words`), the language model (`language`), quality
signals (`signals`), and Python regexes as RE2 patterns that match the same text (`re2`).
Everything here works on strings or Arrow columns and knows nothing of builds."""
