#include "train_fixtures.h"

#include "calibration.h"
#include "synth.h"
#include "test_support.h"

#include <random>

namespace basis::test::train {

std::vector<int64_t> randomIds(int64_t n, uint64_t seed, int64_t vocab)
{
    std::mt19937_64 rng(seed);
    std::vector<int64_t> ids(static_cast<size_t>(n));
    for (auto& id : ids)
        id = static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab));
    return ids;
}

std::filesystem::path microModel(const std::string& preset)
{
    const std::filesystem::path dir = basis::test::scratchDir("ft-" + preset);
    basis::writeSyntheticCheckpoint(basis::synthPreset(preset), dir, 3);
    return dir;
}

Compressed compressedMicro(const std::filesystem::path& dir)
{
    Compressed c;
    c.model = basis::DecoderModel::load(dir);
    basis::CalibrationOptions o;
    o.context = 64;
    const auto stats = basis::collectStatistics(*c.model, basis::calibrationChunks(randomIds(64 * 16, 11), o), 4);
    basis::CompressionSettings s;
    s.method = "basis-sharing";
    s.ratio = 30;
    s.groupSize = 2;
    const auto plan = basis::planCompression(c.model->config(), c.model->table(), s);
    c.result = basis::compressModel(*c.model, &stats, plan);
    return c;
}

basis::TrainOptions smallRun(const std::string& train, int64_t steps)
{
    basis::TrainOptions o;
    o.train = train;
    o.steps = steps;
    o.context = 32;
    o.batch = 2;
    o.accumulation = 2;
    o.lr = 1e-2;
    o.warmup = 2;
    o.loraRank = 4;
    o.loraTargets = {"q", "v", "down"};
    return o;
}

} // namespace basis::test::train
