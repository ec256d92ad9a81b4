"""电子监察: norms configuration, KPIs computed from the journal, and the reports built on them."""
