#include "param_count.h"

namespace basis {

DenseCounts denseParameterCounts(const ModelConfig& c, const ArchTable& t)
{
    DenseCounts d;
    for (const ProjectionSpec& p : t.projections) {
        ProjectionCount pc{&p, p.in * p.out, p.hasBias ? p.out : 0};
        d.projectionsPerLayer += pc.weights + pc.bias;
        d.perLayer.push_back(pc);
    }
    d.normsPerLayer = 2 * c.hidden * (t.normHasBias ? 2 : 1);
    d.projections = d.projectionsPerLayer * c.layers;
    d.embeddings = c.vocabSize * c.wordEmbedProjDim;
    if (!t.projectIn.empty())
        d.embeddings += 2 * c.hidden * c.wordEmbedProjDim;
    d.positions = t.embedPositions.empty() ? 0 : (c.maxPositions + c.positionOffset) * c.hidden;
    d.lmHead = t.lmHead.empty() ? 0 : c.vocabSize * c.wordEmbedProjDim;
    d.finalNorm = t.finalNorm.empty() ? 0 : c.hidden * (t.normHasBias ? 2 : 1);
    d.total = d.projections + d.normsPerLayer * c.layers + d.embeddings + d.positions + d.lmHead + d.finalNorm;
    return d;
}

} // namespace basis
