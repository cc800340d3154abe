from flask import Blueprint
bp = Blueprint("widget_harness", __name__, url_prefix="/widget/harness")
