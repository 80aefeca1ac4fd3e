"""DocSpace Sentinel's shared layer, one package per concern: ``docspace`` (the DocSpace
API), ``state`` (the DynamoDB state table), ``findings`` (the record, its renderings, SNS
and SES), ``enforcement`` (the gate before every portal action), ``runtime`` (one run,
from the Lambda event to the committed cursor; the base error) and ``workflows``.

Import what you need from the modules (``docspace_sentinel.docspace.client`` …); no
package module imports anything itself, so a handler pays only for what it uses at cold
start.
"""

__version__ = "0.1.0"
