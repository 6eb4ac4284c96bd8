from wgdroid.cli.main import run

run()
