// The Fine-tune tab on the real stories260K, offscreen. Every control lands in the options the engine's
// Workspace::finetune reads (that each of those options changes the training: test_finetune_cli); defaults follow
// the model's size. A run through the window streams its steps into the plot, heals the model, and the Evaluate
// tab's next perplexity row is that healed model (labelled with what trained) with exactly the perplexity the
// training reported after its last step. A cancel stops the run with a checkpoint, the model unchanged; Resume
// continues it to the end.
#include "engine_controller.h"
#include "eval_results_model.h"
#include "evaluate_view.h"
#include "finetune_view.h"
#include "main_window.h"
#include "studio_document.h"
#include "ui_test_support.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <filesystem>
#include <memory>

using namespace basis;
using namespace basis::ui;

namespace {

const std::string kStories = "models/stories260K/hf";
const std::string kCalib = "data/tinystories-valid/calib.txt";
const std::string kEval = "data/tinystories-valid/eval.txt";

using uitest::shared;

bool waitJobs(QSignalSpy& finished, int count, int timeoutMs = 180000)
{
    return uitest::waitJobs(finished, count, timeoutMs);
}

void select(QComboBox* combo, const QString& data)
{
    const int i = combo->findData(data);
    QVERIFY2(i >= 0, qPrintable(data));
    combo->setCurrentIndex(i);
}

QString head(const QString& from, const QString& to, qint64 bytes)
{
    QFile in(from);
    if (!in.open(QIODevice::ReadOnly))
        return {};
    QByteArray h = in.read(bytes);
    h.truncate(h.lastIndexOf('\n') + 1);
    QFile out(to);
    if (!out.open(QIODevice::WriteOnly) || out.write(h) != h.size())
        return {};
    return to;
}

} // namespace

class TestUiFinetune : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        uitest::sandboxSettings("test_ui_finetune");
        BASIS_UI_REQUIRE_SHARED(kStories);
        QVERIFY(m_dir.isValid());
        m_text = head(shared(kCalib), m_dir.filePath(QStringLiteral("train.txt")), 20000);
        m_evalText = head(shared(kEval), m_dir.filePath(QStringLiteral("eval.txt")), 6000);
        QVERIFY(!m_text.isEmpty() && !m_evalText.isEmpty());
        m_window = std::make_unique<MainWindow>();
        m_window->resize(1600, 1000);
        m_window->show();
        QSignalSpy settled(m_window.get(), &MainWindow::modelSettled);
        m_window->openModel(shared(kStories));
        QVERIFY(settled.wait(60000));
        QVERIFY(settled.first().first().toBool());
    }

    // Defaults for a 260K-parameter model; every control lands in the options the engine reads.
    void controlsReachTheOptions()
    {
        FinetuneView* v = m_window->finetuneView();
        FinetuneJobOptions o = v->options();
        QCOMPARE(o.train.lr, 1e-3);   // a small model: the workshop defaults
        QCOMPARE(o.train.tokens, int64_t(32768));
        QCOMPARE(o.train.context, int64_t(512));   // min(512, stories260K's max_position_embeddings)
        QCOMPARE(o.train.batch, int64_t(4));
        QVERIFY(!v->loraRankSpin()->isEnabled());
        QVERIFY(!v->peftOutEdit()->isEnabled());

        select(v->trainCombo(), QStringLiteral("lora"));
        QVERIFY(v->loraRankSpin()->isEnabled() && v->peftOutEdit()->isEnabled());
        v->loraRankSpin()->setValue(4);
        v->loraAlphaSpin()->setValue(8);
        v->loraDropoutSpin()->setValue(0.1);
        v->loraTargetsEdit()->setText(QStringLiteral("q, down"));
        v->peftOutEdit()->setText(m_dir.filePath(QStringLiteral("peft")));
        v->textEdit()->setText(m_text);
        v->evalTextEdit()->setText(m_evalText);
        v->stepsSpin()->setValue(7);
        QVERIFY(!v->tokensSpin()->isEnabled());
        v->contextSpin()->setValue(64);
        v->batchSpin()->setValue(3);
        v->accumulationSpin()->setValue(2);
        v->lrEdit()->setText(QStringLiteral("2.5e-4"));
        v->warmupSpin()->setValue(5);
        v->minLrEdit()->setText(QStringLiteral("1e-5"));
        v->weightDecaySpin()->setValue(0.05);
        v->clipSpin()->setValue(0.5);
        v->seedSpin()->setValue(9);
        select(v->precisionCombo(), QStringLiteral("bfloat16"));
        v->evalEverySpin()->setValue(3);
        QVERIFY(!v->resumeCheck()->isEnabled());
        v->checkpointEdit()->setText(m_dir.filePath(QStringLiteral("x.ckpt")));
        QVERIFY(v->resumeCheck()->isEnabled());
        v->resumeCheck()->setChecked(true);
        v->outEdit()->setText(m_dir.filePath(QStringLiteral("healed")));
        o = v->options();
        const TrainOptions& t = o.train;
        QCOMPARE(t.train, std::string("lora"));
        QCOMPARE(t.loraRank, int64_t(4));
        QCOMPARE(t.loraAlpha, 8.0);
        QCOMPARE(t.loraDropout, 0.1);
        QCOMPARE(t.loraTargets, (std::vector<std::string>{"q", "down"}));
        QCOMPARE(o.peftOut, std::filesystem::path(m_dir.filePath(QStringLiteral("peft")).toStdString()));
        QCOMPARE(o.text, std::filesystem::path(m_text.toStdString()));
        QCOMPARE(o.evalText, std::filesystem::path(m_evalText.toStdString()));
        QCOMPARE(t.steps, int64_t(7));
        QCOMPARE(t.tokens, int64_t(0));
        QCOMPARE(t.context, int64_t(64));
        QCOMPARE(t.evalContext, int64_t(64));
        QCOMPARE(t.batch, int64_t(3));
        QCOMPARE(t.accumulation, int64_t(2));
        QCOMPARE(t.lr, 2.5e-4);
        QCOMPARE(t.warmup, int64_t(5));
        QCOMPARE(t.minLr, 1e-5);
        QCOMPARE(t.weightDecay, 0.05);
        QCOMPARE(t.clip, 0.5);
        QCOMPARE(t.seed, uint64_t(9));
        QCOMPARE(t.precision, std::string("bfloat16"));
        QCOMPARE(t.evalEvery, int64_t(3));
        QVERIFY(t.resume);
        QCOMPARE(o.out, std::filesystem::path(m_dir.filePath(QStringLiteral("healed")).toStdString()));
        // Settings a coefficients run has no use for do not travel.
        select(v->trainCombo(), QStringLiteral("coefficients"));
        QVERIFY(v->options().peftOut.empty());
        v->lrEdit()->setText(QStringLiteral("abc"));
        QVERIFY_THROWS_EXCEPTION(std::exception, v->options());
    }

    // A coefficients run of the dense model through the Train button: steps stream into the plot, the model heals,
    // and Evaluate's next row is the healed model with the perplexity the training measured after its last step.
    void runHealsWhatEvaluateMeasures()
    {
        FinetuneView* v = m_window->finetuneView();
        v->stepsSpin()->setValue(6);
        v->contextSpin()->setValue(64);
        v->batchSpin()->setValue(2);
        v->accumulationSpin()->setValue(1);
        v->lrEdit()->setText(QStringLiteral("1e-3"));
        v->minLrEdit()->setText(QStringLiteral("0"));
        v->warmupSpin()->setValue(1);
        select(v->precisionCombo(), QStringLiteral("float32"));
        v->evalEverySpin()->setValue(2);
        v->checkpointEdit()->clear();
        v->outEdit()->clear();
        QVERIFY(v->trainButton()->isEnabled());
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        QSignalSpy steps(m_window->document(), &StudioDocument::trainStepped);
        QSignalSpy healed(m_window->document(), &StudioDocument::finetuned);
        QTest::mouseClick(v->trainButton(), Qt::LeftButton);
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(finished.first().at(1).toBool());
        QCOMPARE(healed.count(), 1);
        const auto summary = healed.first().first().value<FinetuneSummary>();
        QCOMPARE(summary.result.steps, int64_t(6));
        QCOMPARE(summary.record.at("context").get<int64_t>(), int64_t(64));
        QVERIFY(summary.result.pplAfter && summary.result.pplBefore);
        QVERIFY(*summary.result.pplAfter != *summary.result.pplBefore);   // trained (a dense control need not improve)
        QVERIFY(steps.count() >= 3);   // the first, the evaluation steps 2 and 4, the last
        QCOMPARE(v->plot()->graph(0)->dataCount(), 6);
        QCOMPARE(v->plot()->graph(1)->dataCount(), 4);   // before, steps 2 and 4, after
        QVERIFY(v->statusLabel()->text().contains(QStringLiteral("→")));
        QVERIFY(!v->cancelButton()->isEnabled());

        EvaluateView* e = m_window->evaluateView();
        select(e->sourceCombo(), QStringLiteral("file"));
        e->textEdit()->setText(m_evalText);
        e->contextSpin()->setValue(64);
        e->strideSpin()->setValue(64);
        select(e->pplModelCombo(), QStringLiteral("compressed"));
        finished.clear();
        QTest::mouseClick(e->pplButton(), Qt::LeftButton);
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(finished.first().at(1).toBool());
        const EvalResult& row = e->results()->results().back();
        QCOMPARE(row.model.healed, std::string("coefficients"));
        QVERIFY(methodLabel(row.model).contains(QStringLiteral("healed (coefficients)")));
        QCOMPARE(row.ppl, *summary.result.pplAfter);
    }

    // Cancel stops a long run (checkpointed, nothing healed); Resume continues it to the end.
    void cancelAndResume()
    {
        FinetuneView* v = m_window->finetuneView();
        v->stepsSpin()->setValue(300);
        v->evalEverySpin()->setValue(0);
        v->evalTextEdit()->clear();
        const QString ckpt = m_dir.filePath(QStringLiteral("run.ckpt"));
        v->checkpointEdit()->setText(ckpt);
        v->resumeCheck()->setChecked(true);
        QSignalSpy finished(m_window->engine(), &EngineController::jobFinished);
        QSignalSpy healed(m_window->document(), &StudioDocument::finetuned);
        connect(m_window->document(), &StudioDocument::trainStepped, this, [v](const TrainStep&) {
            QVERIFY(v->cancelButton()->isEnabled());
            QTest::mouseClick(v->cancelButton(), Qt::LeftButton);
        }, Qt::SingleShotConnection);
        QTest::mouseClick(v->trainButton(), Qt::LeftButton);
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(!finished.first().at(1).toBool());
        QCOMPARE(healed.count(), 0);
        QVERIFY(QFile::exists(ckpt));

        finished.clear();
        QTest::mouseClick(v->trainButton(), Qt::LeftButton);
        QVERIFY(waitJobs(finished, 1));
        QVERIFY(finished.first().at(1).toBool());
        QCOMPARE(healed.count(), 1);
        const auto summary = healed.first().first().value<FinetuneSummary>();
        QVERIFY(summary.result.resumedFrom > 0);
        QVERIFY(summary.result.resumedFrom < 300);
        QCOMPARE(int64_t(summary.result.history.size()), int64_t(300));
        QVERIFY(v->statusLabel()->text().contains(QStringLiteral("Resumed at step")));
    }

    // A YAML config's lora_args and finetune keys fill the form (as `basis-cli run` reads them, config_jobs.h).
    void configFillsTheForm()
    {
        const QString yaml = m_dir.filePath(QStringLiteral("heal.yaml"));
        QFile f(yaml);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QStringLiteral("model_args: {group_size: 2, compression_ratio: 30, context_length: 128}\n"
                               "lora_args: {save_lora: false, lora_r: 6, lora_alpha: 12, lora_learning_rate: 2.0e-3,"
                               " lora_train_batch_size: 3}\n"
                               "basis_studio:\n  model_path: %1\n  calibration_text: %2\n  finetune_train: lora\n  finetune_tokens: 5000\n"
                               "  lora_targets: [q, down]\n  lora_dropout: 0.2\n  finetune_eval_text: %2\n"
                               "  finetune_eval_every: 5\n  finetune_peft_out: %3\n  seed: 4\n")
                    .arg(shared(kStories), m_evalText, m_dir.filePath(QStringLiteral("cfg-peft")))
                    .toUtf8());
        f.close();
        QVERIFY(m_window->openConfig(yaml));
        const FinetuneJobOptions o = m_window->finetuneView()->options();
        QCOMPARE(o.train.train, std::string("lora"));
        QCOMPARE(o.train.loraRank, int64_t(6));
        QCOMPARE(o.train.loraAlpha, 12.0);
        QCOMPARE(o.train.loraDropout, 0.2);
        QCOMPARE(o.train.loraTargets, (std::vector<std::string>{"q", "down"}));
        QCOMPARE(o.train.lr, 2e-3);
        QCOMPARE(o.train.minLr, 2e-3);   // the published trainer's constant rate
        QCOMPARE(o.train.batch, int64_t(3));
        QCOMPARE(o.train.tokens, int64_t(5000));
        QCOMPARE(o.train.context, int64_t(128));
        QCOMPARE(o.train.seed, uint64_t(4));
        QCOMPARE(o.train.evalEvery, int64_t(5));
        QCOMPARE(o.evalText, std::filesystem::path(m_evalText.toStdString()));
        QCOMPARE(o.peftOut, std::filesystem::path(m_dir.filePath(QStringLiteral("cfg-peft")).toStdString()));
    }

    void cleanupTestCase() { m_window.reset(); }

private:
    std::unique_ptr<MainWindow> m_window;
    QTemporaryDir m_dir;
    QString m_text, m_evalText;
};

QTEST_MAIN(TestUiFinetune)
#include "test_ui_finetune.moc"
