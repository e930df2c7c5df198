"""mailer: compose newsletter issues and deliver them to managed lists."""

__version__ = "0.1.0"
