"""Shaping what the agent's model receives.

- `synthesizer`: the seed's `DataSynthesizer` (merge, conflict rules, priorities, summary);
- `scoring`: pass ratio and weighted scores, overall and per framework, with their formulas;
- `engine`: the seed's `ResponseEngine` (answers, changes since last time, action plans, docs);
- `budget`: the 20 KB byte budget and deterministic paging;
- `neutralize`: account data made safe to quote to a language model;
- `reports`, `service_status`, `terminal`: JSON and Markdown reports, small renderers, the demo's view.
"""
