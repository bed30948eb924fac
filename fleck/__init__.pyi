# The public names of `fleck`, imported lazily by lazy_loader.attach_stub (see __init__.py).
from .batch import detect_many
from .censoring import censor
from .config import FLECK_1996, KAPUR, FleckConfig, SkinConfig, get_config
from .detector import Detection, Detector, detect
from .errors import ImageError
from .estimator import FleckClassifier
from .loading import load, load_image
from .occlusion import occlusion_map
from .overlay import draw
from .saliency import explain
from .skin import SkinMap, skin_filter, skin_map
from .video import VideoSettings, detect_media

__version__: str

__all__ = [
    "FLECK_1996",
    "KAPUR",
    "FleckConfig",
    "SkinConfig",
    "get_config",
    "ImageError",
    "load_image",
    "load",
    "skin_map",
    "skin_filter",
    "SkinMap",
    "detect",
    "Detector",
    "Detection",
    "detect_many",
    "FleckClassifier",
    "draw",
    "censor",
    "occlusion_map",
    "detect_media",
    "VideoSettings",
    "explain",
]
