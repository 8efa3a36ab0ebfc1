"""Student builders: a layer-pruned copy of the teacher, or a small pretrained encoder matched to it."""

from compress.distill.students.build import BuiltStudent, build_student
from compress.distill.students.pca import Pca
from compress.distill.students.pretrained import add_projection, fit_linear_map
from compress.distill.students.pruned import evenly_spread, find_layer_list, prune_layers

__all__ = ["BuiltStudent", "Pca", "add_projection", "build_student", "evenly_spread", "find_layer_list",
           "fit_linear_map", "prune_layers"]
