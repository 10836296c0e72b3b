# A throwaway RTSP server for camera's tests: GStreamer's rtsp-server
# (Debian: gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-ugly)
# serving a live H.264 test pattern at rtsp://127.0.0.1:PORT/test.
# Usage: rtsp_server.py PORT
import sys, gi
gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer, GLib
Gst.init(None)
port = sys.argv[1]
s = GstRtspServer.RTSPServer(); s.set_address("127.0.0.1"); s.set_service(port)
f = GstRtspServer.RTSPMediaFactory()
f.set_launch("( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 ! rtph264pay name=pay0 pt=96 )")
f.set_shared(True)
s.get_mount_points().add_factory("/test", f)
s.attach(None)
print("ready", flush=True)
GLib.MainLoop().run()
