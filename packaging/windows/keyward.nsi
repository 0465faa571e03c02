; Keyward's Windows installer, compiled on Debian by `makensis` (scripts/package.sh windows).
;
; Per user by default: no administrator rights, into %LOCALAPPDATA%\Programs\Keyward, the
; command line on the user's PATH, the uninstaller under HKCU. For everyone on the computer
; with /ALLUSERS (or "For everyone" on the first page, which asks for administrator rights):
; into Program Files, the system PATH, HKLM. Silent with /S; /D=folder (last) picks the folder.
; Uninstalling keeps the directory files (%LOCALAPPDATA%\Keyward) and the connection profiles
; (%APPDATA%\Keyward): they are the administrator's data, not the program's.
;
; Defined by the caller: VERSION (e.g. 0.1.0), STAGE (the folder of the files to install),
; OUT (the setup file to write).

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
ManifestDPIAware true

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "WinMessages.nsh"
!include "nsDialogs.nsh"

!define PRODUCT "Keyward"
!define PUBLISHER "Keyward"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Keyward"
!define USER_ENV "Environment"
!define MACHINE_ENV "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"
; Microsoft's Evergreen Bootstrapper of the WebView2 Runtime (nothing is fetched at build time).
!define WEBVIEW2_BOOTSTRAPPER "https://go.microsoft.com/fwlink/p/?LinkId=2124703"
!define WEBVIEW2_CLIENT "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"

Name "${PRODUCT}"
OutFile "${OUT}"
InstallDir "$LOCALAPPDATA\Programs\Keyward"
; An upgrade goes where the earlier version is (a per-machine one: see UseAllUsers).
InstallDirRegKey HKCU "Software\Microsoft\Windows\CurrentVersion\Uninstall\Keyward" "InstallLocation"
RequestExecutionLevel user
BrandingText "${PRODUCT} ${VERSION}"

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${PRODUCT} ${VERSION} setup"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "MIT licence"

!define MUI_ICON "${STAGE}\keyward.ico"
!define MUI_UNICON "${STAGE}\keyward.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\keyward-app.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open Keyward"

Var AllUsers
Var ModeDialog
Var JustMe
Var Everyone

Page custom ModePage ModePageLeave
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
; No "Open Keyward" from an elevated (per-machine) setup: the app would run as the
; administrator, with the administrator's data folder.
!define MUI_PAGE_CUSTOMFUNCTION_PRE FinishPagePre
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Function .onInit
  StrCpy $AllUsers 0
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/ALLUSERS" $1
  ${IfNot} ${Errors}
    Call UseAllUsers
  ${EndIf}
FunctionEnd

Function UseAllUsers
  StrCpy $AllUsers 1
  ; Only when no /D= was given: $INSTDIR then still holds the per-user default or the
  ; per-user install's folder (compared before the shell context changes $LOCALAPPDATA).
  ReadRegStr $1 HKCU "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $INSTDIR == "$LOCALAPPDATA\Programs\Keyward"
  ${OrIf} $INSTDIR == $1
    ReadRegStr $1 HKLM "${UNINSTALL_KEY}" "InstallLocation"
    ${If} $1 != ""
      StrCpy $INSTDIR $1
    ${Else}
      StrCpy $INSTDIR "$PROGRAMFILES64\Keyward"
    ${EndIf}
  ${EndIf}
  SetShellVarContext all
FunctionEnd

Function FinishPagePre
  ${If} $AllUsers == 1
    Abort
  ${EndIf}
FunctionEnd

Function ModePage
  ${If} $AllUsers == 1
    Abort
  ${EndIf}
  !insertmacro MUI_HEADER_TEXT "Who is Keyward for?" "Install Keyward for yourself or for everyone on this computer."
  nsDialogs::Create 1018
  Pop $ModeDialog
  ${NSD_CreateRadioButton} 0 10u 100% 12u "Just for me (recommended; no administrator rights needed)"
  Pop $JustMe
  ${NSD_CreateRadioButton} 0 30u 100% 12u "For everyone on this computer (asks for administrator rights)"
  Pop $Everyone
  ${NSD_Check} $JustMe
  nsDialogs::Show
FunctionEnd

Function ModePageLeave
  ${NSD_GetState} $Everyone $0
  ${If} $0 == ${BST_CHECKED}
    ; Start again elevated, for everyone; this per-user run ends here.
    ClearErrors
    ExecShell "runas" "$EXEPATH" "/ALLUSERS"
    ${If} ${Errors}
      MessageBox MB_ICONEXCLAMATION "Windows did not give the setup administrator rights. Install just for yourself, or ask an administrator."
      Abort
    ${EndIf}
    Quit
  ${EndIf}
FunctionEnd

; Says so when the WebView2 Runtime that Keyward's window needs is missing, and offers
; Microsoft's bootstrapper. Silent installs only note it: the command line works without it.
Function CheckWebView2
  SetRegView 64
  ReadRegStr $0 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    ReadRegStr $0 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WEBVIEW2_CLIENT}" "pv"
  ${EndIf}
  ${If} $0 == ""
  ${OrIf} $0 == "0.0.0.0"
    DetailPrint "The Microsoft Edge WebView2 Runtime is not installed: Keyward's window needs it (${WEBVIEW2_BOOTSTRAPPER})."
    MessageBox MB_YESNO|MB_ICONINFORMATION "Keyward's window needs the Microsoft Edge WebView2 Runtime, which this computer does not have.$\r$\n$\r$\nOpen Microsoft's download page for it now? (The keyward command line works without it.)" /SD IDNO IDNO +2
      ExecShell "open" "${WEBVIEW2_BOOTSTRAPPER}"
  ${Else}
    DetailPrint "WebView2 Runtime $0 found."
  ${EndIf}
FunctionEnd

; Appends $INSTDIR to the Path value of ROOT\KEY unless it is there, creating no empty element
; (Wine's cmd, and some tools, stop searching at one). NSIS holds strings of at most
; ${NSIS_MAX_STRLEN} characters: a Path it cannot read whole, or that would not fit, is left
; exactly as it is, and the details say to add the folder by hand. Never writes an empty value.
!macro AddToPath ROOT KEY
  ClearErrors
  ReadRegStr $0 ${ROOT} "${KEY}" "Path"
  ${If} ${Errors}
    ; Missing, or too long to read: only a missing value may be created.
    Push "${ROOT}"
    Push "${KEY}"
    Call PathValueExists
    Pop $1
  ${Else}
    StrCpy $1 "readable"
  ${EndIf}
  StrLen $2 $0
  StrLen $3 $INSTDIR
  ; The ";" and the string's end take two more.
  IntOp $2 $2 + $3
  IntOp $2 $2 + 2
  ${If} $1 == "unreadable"
  ${OrIf} $2 >= ${NSIS_MAX_STRLEN}
    DetailPrint "Path is too long for the setup to change safely; add $INSTDIR to it by hand."
  ${Else}
    Push $0
    Push $INSTDIR
    Call PathWithout
    Pop $0
    ${If} $0 == ""
      StrCpy $0 "$INSTDIR"
    ${Else}
      StrCpy $0 "$0;$INSTDIR"
    ${EndIf}
    WriteRegExpandStr ${ROOT} "${KEY}" "Path" $0
    SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500
  ${EndIf}
!macroend

; Removes $INSTDIR from the Path value of ROOT\KEY; a value NSIS cannot read whole is left
; alone, and a value that would become empty is deleted rather than written empty.
!macro RemoveFromPath ROOT KEY
  ClearErrors
  ReadRegStr $0 ${ROOT} "${KEY}" "Path"
  ${IfNot} ${Errors}
    Push $0
    Push $INSTDIR
    Call un.PathWithout
    Pop $1
    ${If} $1 != $0
      ${If} $1 == ""
        DeleteRegValue ${ROOT} "${KEY}" "Path"
      ${Else}
        WriteRegExpandStr ${ROOT} "${KEY}" "Path" $1
      ${EndIf}
      SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=500
    ${EndIf}
  ${EndIf}
!macroend

; Stack: ROOT, KEY -> "missing" when KEY has no value named Path, else "unreadable".
Function PathValueExists
  Exch $R1 ; key
  Exch
  Exch $R0 ; root: HKCU or HKLM
  Push $R2
  Push $R3
  StrCpy $R3 0
  ${Do}
    ${If} $R0 == "HKLM"
      EnumRegValue $R2 HKLM $R1 $R3
    ${Else}
      EnumRegValue $R2 HKCU $R1 $R3
    ${EndIf}
    ${If} $R2 == ""
      StrCpy $R0 "missing"
      ${ExitDo}
    ${EndIf}
    ${If} $R2 == "Path"
      StrCpy $R0 "unreadable"
      ${ExitDo}
    ${EndIf}
    IntOp $R3 $R3 + 1
  ${Loop}
  Pop $R3
  Pop $R2
  Pop $R1
  Exch $R0
FunctionEnd

; Stack: PATH, FOLDER -> PATH without any element equal to FOLDER (any case, with or without
; a trailing backslash) and without empty elements.
!macro PathWithoutFunction PREFIX
Function ${PREFIX}PathWithout
  Exch $R1 ; folder
  Exch
  Exch $R0 ; path
  Push $R2 ; result
  Push $R3 ; current element
  Push $R4 ; character
  Push $R5 ; index
  StrCpy $R2 ""
  StrCpy $R3 ""
  StrCpy $R5 0
  ${Do}
    StrCpy $R4 $R0 1 $R5
    ${If} $R4 == ";"
    ${OrIf} $R4 == ""
      ${If} $R3 != ""
      ${AndIf} $R3 != $R1
      ${AndIf} $R3 != "$R1\"
        ${If} $R2 == ""
          StrCpy $R2 $R3
        ${Else}
          StrCpy $R2 "$R2;$R3"
        ${EndIf}
      ${EndIf}
      StrCpy $R3 ""
      ${IfThen} $R4 == "" ${|} ${ExitDo} ${|}
    ${Else}
      StrCpy $R3 "$R3$R4"
    ${EndIf}
    IntOp $R5 $R5 + 1
  ${Loop}
  StrCpy $R0 $R2
  Pop $R5
  Pop $R4
  Pop $R3
  Pop $R2
  Pop $R1
  Exch $R0
FunctionEnd
!macroend
!insertmacro PathWithoutFunction ""
!insertmacro PathWithoutFunction "un."

; A running keyward.exe or keyward-app.exe (the app, `keyward serve`) cannot be replaced:
; ask to close it, or fail a silent install with exit code 6 rather than mix versions.
Function WaitUntilNotRunning
  ${ForEach} $1 0 1 + 1
    ${If} $1 == 0
      StrCpy $2 "$INSTDIR\keyward.exe"
    ${Else}
      StrCpy $2 "$INSTDIR\keyward-app.exe"
    ${EndIf}
    ${Do}
      ${IfNot} ${FileExists} $2
        ${ExitDo}
      ${EndIf}
      ClearErrors
      FileOpen $3 $2 a
      ${IfNot} ${Errors}
        FileClose $3
        ${ExitDo}
      ${EndIf}
      MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "Keyward is running (the app, or keyward serve). Close it, then choose Retry." /SD IDCANCEL IDRETRY retry
      SetErrorLevel 6
      Quit
      retry:
    ${Loop}
  ${Next}
FunctionEnd

Section "Keyward"
  ${If} $AllUsers == 1
    ClearErrors
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
    ${If} ${Errors}
      MessageBox MB_ICONSTOP "Installing for everyone needs administrator rights. Run the setup as an administrator, or install just for yourself." /SD IDOK
      SetErrorLevel 5
      Quit
    ${EndIf}
  ${EndIf}
  Call WaitUntilNotRunning
  SetOutPath "$INSTDIR"
  File "${STAGE}\keyward.exe"
  File "${STAGE}\keyward-app.exe"
  File "${STAGE}\WebView2Loader.dll"
  File "${STAGE}\keyward.ico"
  File "${STAGE}\README.txt"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateShortCut "$SMPROGRAMS\Keyward.lnk" "$INSTDIR\keyward-app.exe" "" "$INSTDIR\keyward.ico" 0 SW_SHOWNORMAL "" "Users, roles, groups and API keys"

  ${GetSize} "$INSTDIR" "/S=0K" $2 $3 $4
  ${If} $AllUsers == 1
    !insertmacro AddToPath HKLM "${MACHINE_ENV}"
  ${Else}
    !insertmacro AddToPath HKCU "${USER_ENV}"
  ${EndIf}
  ; The same entries in HKLM or HKCU ("Apps & features" lists both).
  ${If} $AllUsers == 1
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\keyward.ico"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe" /ALLUSERS'
    WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /ALLUSERS /S'
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
    WriteRegDWORD HKLM "${UNINSTALL_KEY}" "EstimatedSize" $2
  ${Else}
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "${PRODUCT}"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "${PUBLISHER}"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\keyward.ico"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
    WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
    WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
    WriteRegDWORD HKCU "${UNINSTALL_KEY}" "EstimatedSize" $2
  ${EndIf}
  Call CheckWebView2
SectionEnd

; A per-machine install is recognised by its HKLM entry, whatever switches were given; removing
; it needs administrator rights, asked for (or, silent, refused with exit code 5) up front
; rather than failing file by file.
Var UnAllUsers
Function un.onInit
  StrCpy $UnAllUsers 0
  ReadRegStr $1 HKLM "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $1 == $INSTDIR
    StrCpy $UnAllUsers 1
    SetShellVarContext all
    ClearErrors
    WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallCheck" "1"
    ${If} ${Errors}
      ${If} ${Silent}
        SetErrorLevel 5
        Quit
      ${EndIf}
      ExecShell "runas" "$INSTDIR\uninstall.exe" "/ALLUSERS"
      Quit
    ${EndIf}
    DeleteRegValue HKLM "${UNINSTALL_KEY}" "UninstallCheck"
  ${EndIf}
FunctionEnd

Section "Uninstall"
  Delete "$INSTDIR\keyward.exe"
  Delete "$INSTDIR\keyward-app.exe"
  Delete "$INSTDIR\WebView2Loader.dll"
  Delete "$INSTDIR\keyward.ico"
  Delete "$INSTDIR\README.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Keyward.lnk"
  ${If} $UnAllUsers == 1
    !insertmacro RemoveFromPath HKLM "${MACHINE_ENV}"
    DeleteRegKey HKLM "${UNINSTALL_KEY}"
  ${Else}
    !insertmacro RemoveFromPath HKCU "${USER_ENV}"
    DeleteRegKey HKCU "${UNINSTALL_KEY}"
  ${EndIf}
  ; The directory files in %LOCALAPPDATA%\Keyward and the profiles in %APPDATA%\Keyward stay.
SectionEnd
