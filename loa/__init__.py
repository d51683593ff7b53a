"""The composition root: builds the bot, the API, the scheduler and the delivery worker
from settings (`runtime`), the `loa` command line (`cli`) and the demo (`demo`)."""
