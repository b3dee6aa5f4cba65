/*  notifyd_email_tmpl.h — the text of Alertmanager's email.default.html (template/email.tmpl,
    generated from the Mailgun transactional templates, MIT licence, as quoted in the text
    itself) between its 56 actions: segment i is the text before action i, without the
    HTML comment (the licence), which html/template drops as it renders. Data for
    notifyd_email_html.c, which performs the actions; regenerate only from email.tmpl.
*/
#ifndef NOTIFYD_EMAIL_TMPL_H
#define NOTIFYD_EMAIL_TMPL_H

// clang-format off
static const char *const s_seg[57] = {
    /* 0 */
    "\n"
    "\n"
    "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\" \"http://www.w3.org/TR/"
    "xhtml1/DTD/xhtml1-transitional.dtd\">\n"
    "<html xmlns=\"http://www.w3.org/1999/xhtml\" style=\"margin: 0; font-family: 'Helvetica "
    "Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "<head>\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n"
    "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\">\n"
    "<title>",
    /* 1 */
    "</title>\n"
    "<style>\n"
    "@media only screen and (max-width: 640px) {\n"
    "  body {\n"
    "    padding: 0 !important;\n"
    "  }\n"
    "\n"
    "  h1,\n"
    "h2,\n"
    "h3,\n"
    "h4 {\n"
    "    font-weight: 800 !important;\n"
    "    margin: 20px 0 5px !important;\n"
    "  }\n"
    "\n"
    "  h1 {\n"
    "    font-size: 22px !important;\n"
    "  }\n"
    "\n"
    "  h2 {\n"
    "    font-size: 18px !important;\n"
    "  }\n"
    "\n"
    "  h3 {\n"
    "    font-size: 16px !important;\n"
    "  }\n"
    "\n"
    "  .container {\n"
    "    padding: 0 !important;\n"
    "    width: 100% !important;\n"
    "  }\n"
    "\n"
    "  .content {\n"
    "    padding: 0 !important;\n"
    "  }\n"
    "\n"
    "  .content-wrap {\n"
    "    padding: 10px !important;\n"
    "  }\n"
    "\n"
    "  .invoice {\n"
    "    width: 100% !important;\n"
    "  }\n"
    "}\n"
    "</style>\n"
    "</head>\n"
    "\n"
    "<body itemscope itemtype=\"https://schema.org/EmailMessage\" style=\"margin: 0; font-fam"
    "ily: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: "
    "14px; -webkit-font-smoothing: antialiased; -webkit-text-size-adjust: none; height: 100%;"
    " line-height: 1.6em; background-color: #f6f6f6; width: 100%;\">\n"
    "\n"
    "<table class=\"body-wrap\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, "
    "Arial, sans-serif; box-sizing: border-box; font-size: 14px; background-color: #f6f6f6; w"
    "idth: 100%;\" width=\"100%\" bgcolor=\"#f6f6f6\">\n"
    "  <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; bo"
    "x-sizing: border-box; font-size: 14px;\">\n"
    "    <td style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px; vertical-align: top;\" valign=\"top\"></td>\n"
    "    <td class=\"container\" width=\"600\" style=\"font-family: 'Helvetica Neue', Helveti"
    "ca, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-align: top; dis"
    "play: block; max-width: 600px; margin: 0 auto; clear: both;\" valign=\"top\">\n"
    "      <div class=\"content\" style=\"font-family: 'Helvetica Neue', Helvetica, Arial, sa"
    "ns-serif; box-sizing: border-box; font-size: 14px; max-width: 600px; margin: 0 auto; dis"
    "play: block; padding: 20px;\">\n"
    "        <table class=\"main\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style="
    "\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: bo"
    "rder-box; font-size: 14px; background-color: #fff; border: 1px solid #e9e9e9; border-rad"
    "ius: 3px;\" bgcolor=\"#fff\">\n"
    "          <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-s"
    "erif; box-sizing: border-box; font-size: 14px;\">\n"
    "            ",
    /* 2 */
    "\n"
    "            <td class=\"alert alert-warning\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; vertical-align: top; font-"
    "size: 16px; color: #fff; font-weight: 500; padding: 20px; text-align: center; border-rad"
    "ius: 3px 3px 0 0; background-color: #E6522C;\" valign=\"top\" align=\"center\" bgcolor="
    "\"#E6522C\">\n"
    "              ",
    /* 3 */
    " alert",
    /* 4 */
    "s",
    /* 5 */
    " for ",
    /* 6 */
    "\n"
    "                ",
    /* 7 */
    "=",
    /* 8 */
    "\n"
    "              ",
    /* 9 */
    "\n"
    "            </td>\n"
    "            ",
    /* 10 */
    "\n"
    "            <td class=\"alert alert-good\" style=\"margin: 0; font-family: 'Helvetica Ne"
    "ue', Helvetica, Arial, sans-serif; box-sizing: border-box; vertical-align: top; font-siz"
    "e: 16px; color: #fff; font-weight: 500; padding: 20px; text-align: center; border-radius"
    ": 3px 3px 0 0; background-color: #68B90F;\" valign=\"top\" align=\"center\" bgcolor=\"#6"
    "8B90F\">\n"
    "              ",
    /* 11 */
    " alert",
    /* 12 */
    "s",
    /* 13 */
    " for ",
    /* 14 */
    "\n"
    "                ",
    /* 15 */
    "=",
    /* 16 */
    " \n"
    "              ",
    /* 17 */
    "\n"
    "            </td>\n"
    "            ",
    /* 18 */
    "\n"
    "          </tr>\n"
    "          <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-s"
    "erif; box-sizing: border-box; font-size: 14px;\">\n"
    "            <td class=\"content-wrap\" style=\"margin: 0; font-family: 'Helvetica Neue',"
    " Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-align: "
    "top; padding: 30px;\" valign=\"top\">\n"
    "              <table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"margin: "
    "0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; "
    "font-size: 14px;\">\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <a href=\"",
    /* 19 */
    "\" class=\"btn-primary\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Ar"
    "ial, sans-serif; box-sizing: border-box; font-size: 14px; text-decoration: none; color: "
    "#FFF; background-color: #348eda; border: solid #348eda; border-width: 10px 20px; line-he"
    "ight: 2em; font-weight: bold; text-align: center; cursor: pointer; display: inline-block"
    "; border-radius: 5px; text-transform: capitalize;\">View in ",
    /* 20 */
    "</a>\n"
    "                  </td>\n"
    "                </tr>\n"
    "                ",
    /* 21 */
    "\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica,"
    " Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">[",
    /* 22 */
    "] Firing</strong>\n"
    "                  </td>\n"
    "                </tr>\n"
    "                ",
    /* 23 */
    "\n"
    "                ",
    /* 24 */
    "\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica,"
    " Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">Labels</strong><br style="
    "\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: bo"
    "rder-box; font-size: 14px;\">\n"
    "                    ",
    /* 25 */
    "",
    /* 26 */
    " = ",
    /* 27 */
    "<br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-"
    "sizing: border-box; font-size: 14px;\">",
    /* 28 */
    "\n"
    "                    ",
    /* 29 */
    "<strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px;\">Annotations</strong><br style=\"margin: 0; fo"
    "nt-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-"
    "size: 14px;\">",
    /* 30 */
    "\n"
    "                    ",
    /* 31 */
    "",
    /* 32 */
    " = ",
    /* 33 */
    "<br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-"
    "sizing: border-box; font-size: 14px;\">",
    /* 34 */
    "\n"
    "                    <a href=\"",
    /* 35 */
    "\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-s"
    "izing: border-box; font-size: 14px; color: #348eda; text-decoration: underline;\">Source"
    "</a><br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px;\">\n"
    "                  </td>\n"
    "                </tr>\n"
    "                ",
    /* 36 */
    "\n"
    "\n"
    "                ",
    /* 37 */
    "\n"
    "                  ",
    /* 38 */
    "\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Ari"
    "al, sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                    <hr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Ari"
    "al, sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                    <br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Ari"
    "al, sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  </td>\n"
    "                </tr>\n"
    "                  ",
    /* 39 */
    "\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica,"
    " Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">[",
    /* 40 */
    "] Resolved</strong>\n"
    "                  </td>\n"
    "                </tr>\n"
    "                ",
    /* 41 */
    "\n"
    "                ",
    /* 42 */
    "\n"
    "                <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, "
    "sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "                  <td class=\"content-block\" style=\"margin: 0; font-family: 'Helvetica"
    " Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-size: 14px; vertical-"
    "align: top; padding: 0 0 20px;\" valign=\"top\">\n"
    "                    <strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica,"
    " Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">Labels</strong><br style="
    "\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: bo"
    "rder-box; font-size: 14px;\">\n"
    "                    ",
    /* 43 */
    "",
    /* 44 */
    " = ",
    /* 45 */
    "<br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-"
    "sizing: border-box; font-size: 14px;\">",
    /* 46 */
    "\n"
    "                    ",
    /* 47 */
    "<strong style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px;\">Annotations</strong><br style=\"margin: 0; fo"
    "nt-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; font-"
    "size: 14px;\">",
    /* 48 */
    "\n"
    "                    ",
    /* 49 */
    "",
    /* 50 */
    " = ",
    /* 51 */
    "<br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-"
    "sizing: border-box; font-size: 14px;\">",
    /* 52 */
    "\n"
    "                    <a href=\"",
    /* 53 */
    "\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-s"
    "izing: border-box; font-size: 14px; color: #348eda; text-decoration: underline;\">Source"
    "</a><br style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px;\">\n"
    "                  </td>\n"
    "                </tr>\n"
    "                ",
    /* 54 */
    "\n"
    "              </table>\n"
    "            </td>\n"
    "          </tr>\n"
    "        </table>\n"
    "\n"
    "        <div class=\"footer\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetic"
    "a, Arial, sans-serif; box-sizing: border-box; font-size: 14px; width: 100%; clear: both;"
    " color: #999; padding: 20px;\">\n"
    "          <table width=\"100%\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvet"
    "ica, Arial, sans-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "            <tr style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans"
    "-serif; box-sizing: border-box; font-size: 14px;\">\n"
    "              <td class=\"aligncenter content-block\" style=\"margin: 0; font-family: 'H"
    "elvetica Neue', Helvetica, Arial, sans-serif; box-sizing: border-box; vertical-align: to"
    "p; padding: 0 0 20px; text-align: center; color: #999; font-size: 12px;\" valign=\"top\""
    " align=\"center\"><a href=\"",
    /* 55 */
    "\" style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; box-s"
    "izing: border-box; text-decoration: underline; color: #999; font-size: 12px;\">Sent by ",
    /* 56 */
    "</a></td>\n"
    "            </tr>\n"
    "          </table>\n"
    "        </div></div>\n"
    "    </td>\n"
    "    <td style=\"margin: 0; font-family: 'Helvetica Neue', Helvetica, Arial, sans-serif; "
    "box-sizing: border-box; font-size: 14px; vertical-align: top;\" valign=\"top\"></td>\n"
    "  </tr>\n"
    "</table>\n"
    "\n"
    "</body>\n"
    "</html>\n"
    "\n",
};
// clang-format on

#endif
