// SPDX-License-Identifier: GPL-3.0-or-later
#include "zoo.h"

#include <cmath>

namespace jb {

namespace {

using namespace jb::layers;

/// Scales a hidden width by the multiplier.
struct Width
{
    double m;
    int64_t operator()(int64_t n) const
    {
        return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(n) * m)));
    }
};

using Builder = std::vector<LayerSpec> (*)(const ZooOptions &, Width);

std::vector<LayerSpec> mlp(const ZooOptions &o, Width w)
{
    // LeNet-300-100 (LeCun et al. 1998): 784-300-100-10 for 28x28 inputs.
    return {flatten(), linear(w(300)), act(), linear(w(100)), act(), linear(o.numClasses)};
}

std::vector<LayerSpec> mlpWide(const ZooOptions &o, Width w)
{
    return {flatten(), linear(w(1024)), act(), linear(w(1024)), act(), linear(o.numClasses)};
}

std::vector<LayerSpec> lenet5(const ZooOptions &o, Width w)
{
    // LeNet-5 with ReLU and max pooling; padding 2 on the first conv makes 28x28 inputs behave
    // like the original 32x32 ones (16 x 5 x 5 features before the classifier).
    return {conv(w(6), 5, 1, 2), act(),          maxPool(2),
            conv(w(16), 5),      act(),          maxPool(2),
            flatten(),           linear(w(120)), act(),
            linear(w(84)),       act(),          linear(o.numClasses)};
}

std::vector<LayerSpec> cnnSmall(const ZooOptions &o, Width w)
{
    // Two conv blocks (conv 3x3, BN, ReLU, max-pool 2) and a 128-unit classifier.
    return {conv(w(32), 3, 1, 1, false),
            batchNorm(),
            act(),
            maxPool(2),
            conv(w(64), 3, 1, 1, false),
            batchNorm(),
            act(),
            maxPool(2),
            flatten(),
            linear(w(128)),
            act(),
            linear(o.numClasses)};
}

std::vector<LayerSpec> vggCifar(const ZooOptions &o, Width w)
{
    // A small VGG: three stages of two conv3x3-BN-ReLU and a max-pool (32-64-128 channels),
    // global average pooling, dropout and one linear layer.
    std::vector<LayerSpec> l;
    for (int64_t c : {32, 64, 128}) {
        for (int rep = 0; rep < 2; ++rep) {
            l.push_back(conv(w(c), 3, 1, 1, false));
            l.push_back(batchNorm());
            l.push_back(act());
        }
        l.push_back(maxPool(2));
    }
    l.push_back(globalAvgPool());
    l.push_back(flatten());
    l.push_back(dropout(0.3));
    l.push_back(linear(o.numClasses));
    return l;
}

std::vector<LayerSpec> resnet20(const ZooOptions &o, Width w)
{
    // ResNet-20 for CIFAR (He et al. 2016, section 4.2): 3 stages x 3 basic blocks with
    // 16-32-64 channels. Where the shape changes the shortcut is a 1x1 conv + BN ("option B").
    std::vector<LayerSpec> l = {conv(w(16), 3, 1, 1, false), batchNorm(), act()};
    int64_t in = w(16);
    for (auto [c16, stride] : {std::pair<int64_t, int64_t>{16, 1}, {32, 2}, {64, 2}}) {
        const int64_t c = w(c16);
        for (int block = 0; block < 3; ++block) {
            const int64_t s = block == 0 ? stride : 1;
            std::vector<LayerSpec> body = {conv(c, 3, s, 1, false), batchNorm(), act(),
                                           conv(c, 3, 1, 1, false), batchNorm()};
            std::vector<LayerSpec> shortcut;
            if (s != 1 || in != c)
                shortcut = {conv(c, 1, s, 0, false), batchNorm()};
            l.push_back(residual(std::move(body), std::move(shortcut)));
            l.push_back(act());
            in = c;
        }
    }
    l.push_back(globalAvgPool());
    l.push_back(flatten());
    l.push_back(linear(o.numClasses));
    return l;
}

std::vector<LayerSpec> mobilenetCifar(const ZooOptions &o, Width w)
{
    // MobileNet v1 for 32x32 inputs (Howard et al. 2017; first conv stride 1, as in common
    // CIFAR ports): 13 depthwise-separable blocks (depthwise 3x3-BN-ReLU, pointwise 1x1-BN-ReLU).
    std::vector<LayerSpec> l = {conv(w(32), 3, 1, 1, false), batchNorm(), act()};
    const std::pair<int64_t, int64_t> blocks[] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                                                  {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                                                  {512, 1}, {1024, 2}, {1024, 1}};
    for (auto [c, s] : blocks) {
        l.push_back(depthwise(3, s, 1, false));
        l.push_back(batchNorm());
        l.push_back(act());
        l.push_back(conv(w(c), 1, 1, 0, false));
        l.push_back(batchNorm());
        l.push_back(act());
    }
    l.push_back(globalAvgPool());
    l.push_back(flatten());
    l.push_back(linear(o.numClasses));
    return l;
}

struct Entry
{
    ZooEntry info;
    Builder build;
};

const std::vector<Entry> &table()
{
    static const std::vector<Entry> entries = {
        {{QStringLiteral("mlp"),
          QStringLiteral("LeNet-300-100 multilayer perceptron "
                         "(784-300-100-10 on 28x28)"),
          false},
         mlp},
        {{QStringLiteral("mlp-wide"),
          QStringLiteral("wide multilayer perceptron (784-1024-1024-10 on 28x28)"), false},
         mlpWide},
        {{QStringLiteral("lenet5"),
          QStringLiteral("LeNet-5: two 5x5 convs (6, 16) with max pooling, 120-84 classifier"),
          true},
         lenet5},
        {{QStringLiteral("cnn-small"),
          QStringLiteral("two conv3x3-BN-ReLU-pool blocks (32, 64) and a 128-unit classifier, "
                         "for Fashion-MNIST"),
          true},
         cnnSmall},
        {{QStringLiteral("vgg-cifar"),
          QStringLiteral("small VGG: 3 stages of 2 conv3x3-BN-ReLU (32-64-128), global pooling"),
          true},
         vggCifar},
        {{QStringLiteral("resnet20"),
          QStringLiteral("ResNet-20 for CIFAR (3x3 basic blocks, 16-32-64 channels)"), true},
         resnet20},
        {{QStringLiteral("mobilenet-cifar"),
          QStringLiteral("MobileNet v1 for 32x32: 13 depthwise-separable blocks up to 1024 "
                         "channels"),
          true},
         mobilenetCifar},
    };
    return entries;
}

} // namespace

const QList<ZooEntry> &zooEntries()
{
    static const QList<ZooEntry> entries = [] {
        QList<ZooEntry> l;
        for (const Entry &e : table())
            l.append(e.info);
        return l;
    }();
    return entries;
}

QStringList zooModelNames()
{
    QStringList names;
    for (const Entry &e : table())
        names << e.info.name;
    return names;
}

std::optional<ArchSpec> zooSpec(const QString &name, const ZooOptions &options, QString *error)
{
    for (const Entry &e : table()) {
        if (e.info.name != name)
            continue;
        if (!(options.width > 0)) {
            if (error)
                *error = QStringLiteral("zoo model '%1': width multiplier must be > 0, got %2")
                             .arg(name)
                             .arg(options.width);
            return std::nullopt;
        }
        if (e.info.needsImage && options.inputShape.size() != 3) {
            if (error)
                *error = QStringLiteral("zoo model '%1' needs image input [C, H, W]; the data "
                                        "set's samples are %2")
                             .arg(name, shapeToString(options.inputShape));
            return std::nullopt;
        }
        ArchSpec spec;
        spec.name =
            options.width == 1.0 ? name : QStringLiteral("%1-x%2").arg(name).arg(options.width);
        spec.inputShape = options.inputShape;
        spec.numClasses = options.numClasses;
        spec.layers = e.build(options, Width{options.width});
        QString why;
        if (!spec.validate(&why)) {
            if (error)
                *error = QStringLiteral("zoo model '%1' does not fit input %2 with %3 classes: %4")
                             .arg(name, shapeToString(options.inputShape))
                             .arg(options.numClasses)
                             .arg(why);
            return std::nullopt;
        }
        return spec;
    }
    if (error)
        *error = QStringLiteral("unknown zoo model '%1' (known: %2)")
                     .arg(name, zooModelNames().join(QStringLiteral(", ")));
    return std::nullopt;
}

} // namespace jb
