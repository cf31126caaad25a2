#!/usr/bin/env sh
# build/dist/llm-playground-<version>-linux-<arch>.tar.gz: the onedir bundle, its desktop
# entry and icon. Unpack anywhere, then `llm-playground/llm-playground --install-desktop`
# adds it to the menu (the entry's Exec then points at where it was unpacked).
set -eu
cd "$(dirname "$0")/.."
version=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
arch=$(uname -m)
bundle=build/dist/llm-playground
[ -x "$bundle/llm-playground" ] || { echo "run make bundle first" >&2; exit 1; }
app_id=io.github.llm_playground.LLMPlayground
sed -e "s|@EXEC@|llm-playground|" -e "s|@APP_ID@|$app_id|" \
    resources/llm-playground.desktop.in > "$bundle/$app_id.desktop"
cp resources/icons/llm-playground-256.png "$bundle/$app_id.png"
cat > "$bundle/README.txt" <<TXT
LLM Playground $version for Linux ($arch)

Start it:            ./llm-playground
Add it to the menu:  ./llm-playground --install-desktop   (remove: --uninstall-desktop)
Check it works:      ./llm-playground --smoke-test

Models, settings and logs live in ~/.local/share/llm-playground and ~/.config/llm-playground;
they survive reinstalling.
TXT
out="build/dist/llm-playground-$version-linux-$arch.tar.gz"
tar -C build/dist -czf "$out" llm-playground
ls -lh "$out"
