"""One run, from a composed config to its outputs: the schema and its checks, stacked training of trials
over their seeds, the files a run leaves, its logger and the outcome it hands back."""
