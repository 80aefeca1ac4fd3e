"""DocSpace Sentinel's shared layer: the DocSpace client and what every workflow shares.

Import what you need from the submodules (``docspace_sentinel.client``, ``.models`` …); this
package module imports nothing itself, so a handler pays only for what it uses at cold start.
"""

__version__ = "0.1.0"
