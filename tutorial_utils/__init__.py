"""tutorial_utils: what the HPO course's notebooks share (data, models, training, samplers, plots, export, CLI).

Import the submodules you need, e.g. ``from tutorial_utils.data import load_age_gender``; importing the
package itself stays cheap.
"""

__version__ = "0.1.0"
