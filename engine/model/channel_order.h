#pragma once
// Rank channels sorted by importance, so that a prefix of a factorized projection is its most important set
// (dynamic rank, engine/model/dynamic_rank.h). For a group with basis B (d x K) and coefficients C_l (K x m), the
// energy of channel j for token t at layer l is e_tj = z_tj^2 ||C_l[j, :]||^2 with z = x B, and the importance is
// s_j = mean over calibration tokens and the group's layers of e_tj = mean_l (B^T H_l B)_jj ||C_l[j, :]||^2 / N_l
// with H_l = sum_t x_t^T x_t, read off the calibration statistics (no pass over the text).
// Applied once at compression, so the saved folder stores B and C_l in that order and the section records it.
#include "calibration.h"
#include "compress.h"

namespace basis {

class DecoderModel;

// Permutes B's columns and every C_l's rows of each factorized group of `result` by the same permutation, in
// descending s_j (ties keep the factorizer's order). The function of every layer is unchanged. Without
// statistics (plain svd) H_l is taken as the identity (s_j = ||B_j||^2 ||C_l[j, :]||^2 / 1). Records in each
// GroupResult the order (the index each stored channel had before this call, composed with any earlier order)
// and s_j in the new order. Groups whose slots are not factorized (quantized layouts) are left alone.
void orderChannelsByImportance(DecoderModel& model, const CalibrationStats* stats, CompressionResult& result);

// The same for one group given as tensors (g.layers in order, one coefficient matrix each, inputs at `site`):
// the streamed compression orders a group before writing it.
void orderGroupChannels(at::Tensor& basis, std::vector<at::Tensor>& coeffs, InputSite site, const CalibrationStats* stats,
                        GroupResult& g);

} // namespace basis
