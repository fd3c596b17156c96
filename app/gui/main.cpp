// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench: the workbench GUI. Parses nothing but Qt's own options and hands over.
#include "main_window.h"

#include <QApplication>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("joulebench"));
    QApplication::setOrganizationName(QStringLiteral("JouleBench"));
    QApplication::setApplicationVersion(QStringLiteral(JOULEBENCH_VERSION));
    jb::gui::MainWindow window;
    window.show();
    return app.exec();
}
