from voicerehearse.cli import main

main()
