#!/usr/bin/env bash
# Puts the default models and media under assets/ (git-ignored).
#
# Where ../shared exists (the project's data folder beside the checkout), each
# file is linked from there. Otherwise it is downloaded from its public
# upstream address and checked against its sha256, as a user on a fresh
# machine needs. The two .mp4 clips are derived from upstream GIFs with ffmpeg
# exactly as ../shared/DATA.md describes, so their bytes (not their frames)
# may differ from the shared copies: the GIF's sha256 is checked instead.
#
# Usage: scripts/fetch-assets.sh [DEST]   (DEST defaults to assets/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$root/assets}
shared=${CONVEYOR_SHARED:-$root/../shared}
mkdir -p "$dest"

# path | sha256 | upstream URL
assets=(
"models/yunet/face_detection_yunet_2022mar.onnx|50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7|https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/1688402dbd9b9fc4a3a6793810f558b7407ff384/tasks/task1/onnx/yunet_120x160.onnx"
"models/yunet/face_detection_yunet_2023mar.onnx|8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4|https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/2b5e61dee21441ef4676505f835ab63ee53bae1e/onnx/yunet_s_640_640.onnx"
"models/yunet/yunet_s_320_320.onnx|beb05bf2378aee45cd7c41056da07265b7bb91041ed1b06f923819a9c744ec36|https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/2b5e61dee21441ef4676505f835ab63ee53bae1e/onnx/yunet_s_320_320.onnx"
"models/yunet/yunet_s_dynamic.onnx|daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3|https://raw.githubusercontent.com/ShiqiYu/libfacedetection.train/2b5e61dee21441ef4676505f835ab63ee53bae1e/onnx/yunet_s_dynamic.onnx"
"models/ultraface/version-RFB-320.onnx|34cd7e60aeff28744c657de7a3dc64e872d506741de66987f3426f2b79f88017|https://raw.githubusercontent.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/0f9ca4a9fc80170fd505168fd1132b837141f7df/models/onnx/version-RFB-320.onnx"
"models/ultraface/version-RFB-640.onnx|8f4c659275977e7a3bfbfa339a9c769ad793df50f9c0baa8c14b11baa1646430|https://raw.githubusercontent.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/cc497be475371d891d5795e46fc80ebaddf683c5/models/onnx/version-RFB-640.onnx"
"models/ultraface/version-RFB-320_simplified.onnx|faf6740b495e8b9508e6fda11e8c0368bbdde01143e8f0a3e511d0892c4d794e|https://raw.githubusercontent.com/Linzaer/Ultra-Light-Fast-Generic-Face-Detector-1MB/442599cebf11307bc231e2e5c3c6c869369fee48/models/onnx/version-RFB-320_simplified.onnx"
"media/video/head-pose-face-detection-female-and-male.gif|f51c743e43848014811ad5f3daddc417754cdeb55a16d46002e0d2ccd4541b0f|https://raw.githubusercontent.com/intel-iot-devkit/sample-videos/45fcafeabd18f0762006fb3bc7068ddbc5426575/preview/head-pose-face-detection-female-and-male.gif"
"media/video/face-demographics-walking-and-pause.gif|6483ce22b1228ecc48f89b591cb99c09ba24e1468bdda5fbfebaae9bcca59dc8|https://raw.githubusercontent.com/intel-iot-devkit/sample-videos/45fcafeabd18f0762006fb3bc7068ddbc5426575/preview/face-demographics-walking-and-pause.gif"
"media/video/gocv_small_noface.mp4|1d720916a831c45454925dea707d477bdd2368bc48f3715bb5464c2707ba9859|https://raw.githubusercontent.com/hybridgroup/gocv/c78b124e1f4dfb3e87845aa3b1341824c2cfd7f5/images/small.mp4"
"media/images/gocv_face.jpg|51f524c76aeb4e12f97476978e1f3b0d0276b9db0a159833d10ca242a19cbf50|https://raw.githubusercontent.com/hybridgroup/gocv/e8eca443efa5316d98a5ab2a2e01cce8bb979411/images/face.jpg"
"media/images/dlib_bald_guys.jpg|e0c40697dbd9a07684274f71760bc5161468e926ba75ff90d48b168019402e8b|https://raw.githubusercontent.com/davisking/dlib/fe1a15f32a1522a8a00126f58e4405219908d57a/examples/faces/bald_guys.jpg"
"media/images/dlib_tom_cruise_large_face.jpg|d9bea1c716b461c15ac3bc7e256bb5efa3e04379d7131f9347e96e4baa6a37c6|https://raw.githubusercontent.com/davisking/dlib/ac292309c1254c3fbac8179e49e887aa568765b8/examples/faces/Tom_Cruise_avp_2014_4.jpg"
"media/images/dlib_dogs_noface.jpg|66e22f8c3bd3b8f876ad9158caaa064992d2b56a5681d9c6efa163a59db7ed03|https://raw.githubusercontent.com/davisking/dlib/67c1a7982078b3ffe2bdf77fa6500471dbd5e753/examples/faces/dogs.jpg"
"media/eval/dlib_faces/training.xml|7bcac38904f4b7f5086ff0eda080ac32c0043f8c62c9c72da5a09c4d81254423|https://raw.githubusercontent.com/davisking/dlib/16500906b0cdcb51a09db9879c4afcf8190009f3/examples/faces/training.xml"
"media/eval/dlib_faces/2007_007763.jpg|17d9897dd55d38179f51dc18371b3f4495a606aaa2846e25a3cb6a58b3a97c89|https://raw.githubusercontent.com/davisking/dlib/43ce7908b9a9d19955ddb35a6e83da8e413dd98f/examples/faces/2007_007763.jpg"
"media/eval/dlib_faces/2008_001009.jpg|2509864113a286bf245161d0317a18c38b6a6641135969847a7e59dff359c52c|https://raw.githubusercontent.com/davisking/dlib/43ce7908b9a9d19955ddb35a6e83da8e413dd98f/examples/faces/2008_001009.jpg"
"media/eval/dlib_faces/2008_001322.jpg|2ea5a60f5347baab8da6eccce43b0320d63da1368d7710fb15cbff8a790bc626|https://raw.githubusercontent.com/davisking/dlib/43ce7908b9a9d19955ddb35a6e83da8e413dd98f/examples/faces/2008_001322.jpg"
"media/eval/dlib_faces/2008_002079.jpg|f929bdf416d756b37eb90c119b892eba5d21041b134883e18d827bce641fb48f|https://raw.githubusercontent.com/davisking/dlib/43ce7908b9a9d19955ddb35a6e83da8e413dd98f/examples/faces/2008_002079.jpg"
"media/realsense/single_depth_color_640x480.bag|f52333d593babdd569425d032b8083b733cdc1c4bd0999c9b7f852fd6971f247|https://raw.githubusercontent.com/IntelRealSense/librealsense/1727252298cd8f6b53955224832cc7aaed216c46/unit-tests/resources/single_depth_color_640x480.bag"
)
# Derived clips: path | the GIF it is made from (see DATA.md 2a)
derived=(
"media/video/head-pose-face-detection-female-and-male.mp4|media/video/head-pose-face-detection-female-and-male.gif"
"media/video/face-demographics-walking-and-pause.mp4|media/video/face-demographics-walking-and-pause.gif"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

for entry in "${assets[@]}"; do
  IFS='|' read -r path sum url <<<"$entry"
  out=$dest/$path
  mkdir -p "$(dirname "$out")"
  if [ -e "$out" ] && [ "$(sha "$out")" = "$sum" ]; then continue; fi
  rm -f "$out"
  if [ -f "$shared/$path" ]; then
    ln -s "$(cd "$shared" && pwd)/$path" "$out"
  else
    echo "fetch-assets: downloading $path" >&2
    curl -fsSL --retry 3 -o "$out.part" "$url"
    mv "$out.part" "$out"
  fi
  got=$(sha "$out")
  if [ "$got" != "$sum" ]; then
    echo "fetch-assets: $path: sha256 $got, want $sum" >&2
    rm -f "$out"
    exit 1
  fi
done

for entry in "${derived[@]}"; do
  IFS='|' read -r path gif <<<"$entry"
  out=$dest/$path
  [ -s "$out" ] && continue
  if [ -f "$shared/$path" ]; then
    ln -s "$(cd "$shared" && pwd)/$path" "$out"
  else
    echo "fetch-assets: deriving $path from $gif with ffmpeg" >&2
    ffmpeg -loglevel error -y -i "$dest/$gif" -c:v libx264 -crf 18 -pix_fmt yuv420p -an "$out"
  fi
done
echo "fetch-assets: assets ready in $dest"
