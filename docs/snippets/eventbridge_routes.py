# snippet: eventbridge_routes.py
from lift import App, Context
from lift.testing import events

app = App()


@app.s3("uploads")  # the bucket name, nothing else
def uploaded(ctx: Context) -> list[str]:
    return [record["key"] for record in ctx.request.records]


@app.eventbridge("aws.s3")  # source or detail-type
def s3_api_call(ctx: Context) -> str:
    return ctx.request.event["detail"]["eventName"]


@app.schedule("nightly-*")  # the rule name
def nightly(ctx: Context) -> str:
    return ctx.request.source


assert app(events.s3("photos/cat 1.jpg", bucket="uploads")) == ["photos/cat 1.jpg"]
assert app(events.s3_eventbridge("a.txt", bucket="uploads")) == ["a.txt"]
assert app(events.cloudtrail_eventbridge("PutObject")) == "PutObject"
assert app(events.scheduled("nightly-report")) == "nightly-report"
